package outbound_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/domain"
)

func TestParseRejectsMalformedEntries(t *testing.T) {
	if _, err := outbound.Parse(" 127.0.0.1, 10.0.0.0/8 ::1 minio.internal,*.corp.example,[fd00::1]"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0.0/33", "not a host!", "http://x", "*."} {
		if _, err := outbound.Parse(bad); domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), outbound.EnvAllow) {
			t.Errorf("Parse(%q) = %v, want an invalid error naming %s", bad, err, outbound.EnvAllow)
		}
	}
}

func TestInternalAddressesAreRefusedUnlessAllowed(t *testing.T) {
	none, _ := outbound.Parse("")
	some, _ := outbound.Parse("10.1.0.0/16, 127.0.0.1, minio.internal, *.corp.example")
	for _, tc := range []struct {
		host, ip string
		kind     string // "" for allowed with no allow list
		allowed  bool   // with the allow list
	}{
		{"203.0.113.9", "203.0.113.9", "", true}, // a documentation range, not an internal one
		{"s3.amazonaws.com", "52.216.0.1", "", true},
		{"127.0.0.1", "127.0.0.1", "loopback", true},
		{"127.0.0.2", "127.0.0.2", "loopback", false},
		{"::1", "::1", "loopback", false},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1", "loopback", true},
		{"10.1.2.3", "10.1.2.3", "private", true},
		{"10.2.0.1", "10.2.0.1", "private", false},
		{"192.168.1.1", "192.168.1.1", "private", false},
		{"fd00::1", "fd00::1", "private", false},
		{"100.64.0.1", "100.64.0.1", "private", false},
		{"169.254.169.254", "169.254.169.254", "link-local", false},
		{"fe80::1", "fe80::1", "link-local", false},
		{"0.0.0.0", "0.0.0.0", "unspecified", false},
		{"::", "::", "unspecified", false},
		{"224.0.0.1", "224.0.0.1", "multicast", false},
		{"ff02::1", "ff02::1", "multicast", false},
		{"255.255.255.255", "255.255.255.255", "reserved", false},
		{"64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "link-local", false}, // NAT64 of 169.254.169.254
		{"minio.internal", "10.9.9.9", "private", true},
		{"a.corp.example", "192.168.0.5", "private", true},
		{"corp.example", "192.168.0.5", "private", false},
	} {
		ip := netip.MustParseAddr(tc.ip)
		err := none.Check(tc.host, ip)
		var r *outbound.Refused
		if tc.kind == "" {
			if err != nil {
				t.Errorf("%s (%s): %v, want allowed", tc.host, tc.ip, err)
			}
		} else if !errors.As(err, &r) || r.Kind != tc.kind {
			t.Errorf("%s (%s): %v, want refused as %s", tc.host, tc.ip, err, tc.kind)
		}
		if err := some.Check(tc.host, ip); (err == nil) != tc.allowed {
			t.Errorf("%s (%s) with the allow list: %v, want allowed=%v", tc.host, tc.ip, err, tc.allowed)
		}
	}
}

func TestTransportChecksTheAddressOfEveryConnection(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer ts.Close()
	port := ts.URL[strings.LastIndex(ts.URL, ":")+1:]
	for _, tc := range []struct {
		allow, url, refused string
	}{
		{"", ts.URL, "endpoint 127.0.0.1 is a private address (loopback); allow it with TRUECOST_OUTBOUND_ALLOW"},
		// A name is checked on the address it resolves to.
		{"", "http://localhost:" + port, "endpoint localhost (127.0.0.1) is a private address (loopback)"},
		{"10.0.0.0/8", ts.URL, "endpoint 127.0.0.1 is a private address"},
		{"127.0.0.0/8", ts.URL, ""},
		{"localhost", "http://localhost:" + port, ""},
	} {
		p, err := outbound.Parse(tc.allow)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Client().Get(tc.url)
		if tc.refused == "" {
			if err != nil {
				t.Errorf("allow %q, GET %s: %v", tc.allow, tc.url, err)
			} else {
				resp.Body.Close()
			}
			continue
		}
		if err == nil {
			resp.Body.Close()
			t.Errorf("allow %q, GET %s: connected", tc.allow, tc.url)
			continue
		}
		refusal := outbound.AsRefused(err)
		if domain.ErrorCode(refusal) != domain.Invalid || !strings.Contains(domain.ErrorMessage(refusal), tc.refused) {
			t.Errorf("allow %q, GET %s: %v; want an invalid refusal %q", tc.allow, tc.url, err, tc.refused)
		}
	}
}

func TestServiceAccountTokenURIObeysThePolicy(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer api.Close()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	// The API is on an allowed address; the key sends its token exchange
	// to another, internal one.
	key, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "p", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "reader@p.iam.gserviceaccount.com", "token_uri": "http://127.0.0.2:9/token"})
	p, err := outbound.Parse("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	client, err := gcpbilling.AuthorizedClient(key, p.Transport())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, api.URL, nil)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the request went out though its token could not be fetched")
	}
	if r := outbound.AsRefused(err); r == nil || !strings.Contains(r.Error(), "endpoint 127.0.0.2 is a private address") {
		t.Errorf("error %v, want the token URI refused", err)
	}
}
