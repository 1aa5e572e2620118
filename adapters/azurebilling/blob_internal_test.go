package azurebilling

import "testing"

func TestContainerURLsFollowTheCloud(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"global Azure by account key", Config{StorageAccount: "acct", Container: "exports", Credentials: Credentials{AccountKey: "a2V5"}}, "https://acct.blob.core.windows.net/exports"},
		{"China by account key", Config{StorageAccount: "acct", Container: "exports", Cloud: "China", Credentials: Credentials{AccountKey: "a2V5"}}, "https://acct.blob.core.chinacloudapi.cn/exports"},
		{"China by service principal", Config{StorageAccount: "acct", Container: "exports", Cloud: "china", Credentials: Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s"}}, "https://acct.blob.core.chinacloudapi.cn/exports"},
		{"China by a connection string without endpoints", Config{Container: "exports", Cloud: "china",
			Credentials: Credentials{ConnectionString: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5"}}, "https://acct.blob.core.chinacloudapi.cn/exports"},
		{"an emulator endpoint", Config{StorageAccount: "devstoreaccount1", Container: "exports", Endpoint: "http://127.0.0.1:10000/devstoreaccount1/", Credentials: Credentials{AccountKey: "a2V5"}}, "http://127.0.0.1:10000/devstoreaccount1/exports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := newContainerClient(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := cl.URL(); got != tc.want {
				t.Errorf("URL %s, want %s", got, tc.want)
			}
		})
	}
}
