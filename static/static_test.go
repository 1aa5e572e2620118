package static_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/truecost/truecost/static"
)

func TestHandlerServesAssetsOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path        string
		wantStatus  int
		wantType    string
		wantContent string
	}{
		{"/static/css/app.css", http.StatusOK, "text/css", "--primary"},
		{"/static/img/logo.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"/static/static.go", http.StatusNotFound, "", ""},
		{"/static/static_test.go", http.StatusNotFound, "", ""},
		{"/static/css/", http.StatusNotFound, "", ""},
		{"/static/", http.StatusNotFound, "", ""},
		{"/static/missing.js", http.StatusNotFound, "", ""},
		{"/static/../static.go", http.StatusNotFound, "", ""},
	}
	h := static.Handler()
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.wantStatus {
			t.Errorf("GET %s: status %d, want %d", tt.path, rec.Code, tt.wantStatus)
			continue
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.wantType) {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, rec.Header().Get("Content-Type"), tt.wantType)
		}
		if !strings.Contains(rec.Body.String(), tt.wantContent) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.wantContent)
		}
	}
}
