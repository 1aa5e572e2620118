// Package ocifake is an OCI Object Storage server for tests: an httptest
// server holding one bucket, checking every request's API-key signature the
// way Object Storage does. Tests of any package may use it.
package ocifake

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Namespace is the Object Storage namespace the server serves: the one OCI
// writes cost and usage reports to.
const Namespace = "bling"

// DefaultPageSize is the most objects one listing page holds.
const DefaultPageSize = 1000

// Key is a throwaway API signing key with its OCI fingerprint.
type Key struct {
	Private     *rsa.PrivateKey
	PEM         string // the private key, PKCS#1 PEM
	Fingerprint string // MD5 of the public key, aa:bb:…
}

// NewKey generates an API signing key.
func NewKey(t testing.TB) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return Key{Private: k, PEM: string(p), Fingerprint: strings.Join(parts, ":")}
}

type object struct {
	data     []byte
	etag     string
	modified time.Time
}

// Server speaks the Object Storage REST API (list objects, get object) for
// one bucket of Namespace. It accepts only requests signed with Key by the
// user of the tenancy it was made for, answers errors with JSON bodies as
// the service does, and records each request.
type Server struct {
	// URL is the server's base URL, the client's endpoint.
	URL string
	// Key is the API key requests must be signed with.
	Key Key
	// Bucket is the bucket served: the tenancy OCID, as for the reports.
	Bucket string

	tenancy, user string

	mu       sync.Mutex
	pageSize int
	objects  map[string]object
	requests []string // "METHOD path?query" as received
}

// New starts an empty reports bucket for tenancyOCID that user userOCID
// reads with a new API key. It is closed when the test ends.
func New(t testing.TB, tenancyOCID, userOCID string) *Server {
	t.Helper()
	s := &Server{Key: NewKey(t), Bucket: tenancyOCID, tenancy: tenancyOCID, user: userOCID,
		pageSize: DefaultPageSize, objects: map[string]object{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// SetPageSize sets the most objects one listing page holds.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Put stores an object, last modified at modified.
func (s *Server) Put(name string, data []byte, modified time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(data)
	s.objects[name] = object{data: data, etag: base64.RawURLEncoding.EncodeToString(sum[:9]), modified: modified}
}

// Requests returns the requests received so far, each as "METHOD
// escaped-path?raw-query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func fail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("opc-request-id", "ocifake/"+code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}

// verify checks the request's HTTP signature against the API key.
func (s *Server) verify(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Signature ") {
		return fmt.Errorf("no signature")
	}
	params := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, "Signature "), ",") {
		k, v, _ := strings.Cut(kv, "=")
		params[k] = strings.Trim(v, `"`)
	}
	if want := s.tenancy + "/" + s.user + "/" + s.Key.Fingerprint; params["keyId"] != want {
		return fmt.Errorf("keyId %q, want %q", params["keyId"], want)
	}
	var lines []string
	for _, h := range strings.Fields(params["headers"]) {
		switch h {
		case "(request-target)":
			lines = append(lines, h+": "+strings.ToLower(r.Method)+" "+r.RequestURI)
		case "host":
			lines = append(lines, "host: "+r.Host)
		default:
			lines = append(lines, h+": "+r.Header.Get(h))
		}
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return rsa.VerifyPKCS1v15(&s.Key.Private.PublicKey, crypto.SHA256, digest[:], sig)
}

// ServeHTTP answers one REST request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	s.mu.Unlock()
	if err := s.verify(r); err != nil {
		fail(w, http.StatusUnauthorized, "NotAuthenticated", "The required information to complete authentication was not provided or was incorrect.")
		return
	}
	base := "/n/" + Namespace + "/b/" + s.Bucket + "/o"
	path := r.URL.EscapedPath()
	switch {
	case r.Method != http.MethodGet:
		fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is served")
	case path == base:
		s.list(w, r.URL.Query())
	case strings.HasPrefix(path, base+"/"):
		name, err := url.PathUnescape(strings.TrimPrefix(path, base+"/"))
		if err != nil {
			fail(w, http.StatusBadRequest, "InvalidParameter", err.Error())
			return
		}
		s.mu.Lock()
		o, ok := s.objects[name]
		s.mu.Unlock()
		if !ok {
			fail(w, http.StatusNotFound, "ObjectNotFound", fmt.Sprintf("The object '%s' was not found in the bucket '%s'", name, s.Bucket))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
		w.Header().Set("ETag", o.etag)
		w.Header().Set("Last-Modified", o.modified.Format(http.TimeFormat))
		_, _ = w.Write(o.data)
	default:
		bucket := ""
		if p := strings.Split(path, "/"); len(p) > 4 {
			bucket = p[4]
		}
		fail(w, http.StatusNotFound, "BucketNotFound", fmt.Sprintf("Either the bucket named '%s' does not exist in the namespace '%s' or you are not authorized to access it", bucket, Namespace))
	}
}

func (s *Server) list(w http.ResponseWriter, q url.Values) {
	if q.Get("fields") != "name,size,etag,timeModified" {
		fail(w, http.StatusBadRequest, "InvalidParameter", "unexpected fields "+q.Get("fields"))
		return
	}
	s.mu.Lock()
	size := s.pageSize
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n < size {
		size = n
	}
	var names []string
	for n := range s.objects {
		if strings.HasPrefix(n, q.Get("prefix")) && n >= q.Get("start") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	type summary struct {
		Name         string `json:"name"`
		Size         int    `json:"size"`
		ETag         string `json:"etag"`
		TimeModified string `json:"timeModified"`
	}
	resp := struct {
		Objects       []summary `json:"objects"`
		NextStartWith string    `json:"nextStartWith,omitempty"`
	}{Objects: []summary{}}
	for i, n := range names {
		if i == size {
			resp.NextStartWith = n
			break
		}
		o := s.objects[n]
		resp.Objects = append(resp.Objects, summary{n, len(o.data), o.etag, o.modified.Format("2006-01-02T15:04:05.000Z07:00")})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
