// Package azurefake is an Azure control plane for tests: one TLS httptest
// server speaking Microsoft Entra ID's client-credentials sign-in, the
// Azure Resource Manager operations Truecost's Azure provisioning uses
// (resource providers, resource groups, storage accounts and their keys,
// role assignments, Cost Management exports, with long-running operations
// polled through Location headers) and the Blob Storage container
// operations. It keeps resources in memory, records every Resource Manager
// and Blob request and can fail a chosen operation. Tests of any package
// may use it; pass Client to the code under test so it trusts the
// server's certificate.
package azurefake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The service principal the server accepts, and what its token says.
const (
	TenantID     = "72f988bf-0000-4000-8000-000000000001"
	ClientID     = "0f0a1b2c-0000-4000-8000-000000000002"
	ClientSecret = "fake-client-secret"
	// PrincipalID is the service principal's object ID, the oid claim
	// of its tokens.
	PrincipalID = "5e6f7a8b-0000-4000-8000-000000000003"
	// AccountKey is the key listKeys returns for every storage account:
	// Azurite's well-known development key, so that an Azurite started
	// with AZURITE_ACCOUNTS=<name>:<AccountKey> accepts it.
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Operations that FailOnce and Fail can fail.
const (
	ProviderGet          = "provider.get"
	ProviderRegister     = "provider.register"
	ProviderUnregister   = "provider.unregister"
	GroupGet             = "group.get"
	GroupPut             = "group.put"
	GroupDelete          = "group.delete"
	StorageGet           = "storage.get"
	StoragePut           = "storage.put"
	StorageListKeys      = "storage.listkeys"
	StorageDelete        = "storage.delete"
	RoleAssignmentPut    = "roleassignment.put"
	RoleAssignmentDelete = "roleassignment.delete"
	ExportGet            = "export.get"
	ExportPut            = "export.put"
	ExportRun            = "export.run"
	ExportDelete         = "export.delete"
	OperationGet         = "operation.get"
	ContainerCreate      = "container.create"
	ContainerDelete      = "container.delete"
)

// Call is one Resource Manager or Blob request as received: Query is the
// raw query string; Body is the JSON body re-encoded with sorted keys (""
// when there was none).
type Call struct {
	Method string
	Path   string
	Query  string
	Body   string
}

// String is "METHOD PATH[?QUERY][ BODY]", handy to compare in tests.
func (c Call) String() string {
	s := c.Method + " " + c.Path
	if c.Query != "" {
		s += "?" + c.Query
	}
	if c.Body != "" {
		s += " " + c.Body
	}
	return s
}

type failure struct {
	times         int // < 0: always
	status        int
	code, message string
}

// resource is an ARM resource the server holds: its canonical ID (the
// spelling it was created with) and its JSON.
type resource struct {
	id   string
	body map[string]any
}

type operation struct {
	pending int // polls left that answer 202
	result  map[string]any
	status  int // final status
}

// Server is the fake Azure. Its zero value is not usable; call New.
type Server struct {
	// URL is the base of both Resource Manager and Entra ID: pass it as
	// the ARM endpoint and the authority host.
	URL string
	srv *httptest.Server

	mu            sync.Mutex
	calls         []Call
	fails         map[string]*failure
	providers     map[string]string // "sub/namespace" → registration state
	providerPolls map[string]int    // polls left before a (un)registration completes
	regPolls      int
	lroPolls      int
	resources     map[string]*resource // lower-case ID → resource
	containers    map[string]bool      // "account/container"
	ops           map[string]*operation
	tokens        map[string]bool
	tokenRequests int
	seq           int // tokens and eTags
	opSeq         int // long-running operations
}

// New starts a fake Azure for the test and stops it when the test ends.
func New(t testing.TB) *Server {
	s := &Server{fails: make(map[string]*failure), providers: make(map[string]string), providerPolls: make(map[string]int),
		resources: make(map[string]*resource), containers: make(map[string]bool), ops: make(map[string]*operation),
		tokens: make(map[string]bool)}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertificatePEM is the server's TLS certificate in PEM form, for a
// process that cannot take Client, e.g. through SSL_CERT_FILE.
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// BlobEndpoint is the server's blob service URL template, with {account}
// for the storage account's name.
func (s *Server) BlobEndpoint() string { return s.URL + "/blob/{account}" }

// Credentials are the service principal secrets the server accepts, as a
// cloud account holds them.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"tenant_id": TenantID, "client_id": ClientID, "client_secret": ClientSecret}
}

// Calls returns the Resource Manager and Blob requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ClearCalls forgets the recorded requests.
func (s *Server) ClearCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// TokenRequests counts the sign-ins that got a token.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// FailOnce makes the next request of op fail with 403 AuthorizationFailed.
func (s *Server) FailOnce(op string) {
	s.Fail(op, 1, http.StatusForbidden, "AuthorizationFailed",
		fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action on this scope.", ClientID, PrincipalID))
}

// Fail makes the next times requests of op (every one when times < 0)
// fail with the status and an ARM error body of code and message.
func (s *Server) Fail(op string, times, status int, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[op] = &failure{times: times, status: status, code: code, message: message}
}

// SetProviderState sets a resource provider's registration state in a
// subscription (NotRegistered unless set). Registering and Unregistering
// last for the reads SetRegistrationPolls set.
func (s *Server) SetProviderState(subscription, namespace, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := providerKey(subscription, namespace)
	s.providers[key], s.providerPolls[key] = state, s.regPolls
}

// ProviderState is a resource provider's registration state.
func (s *Server) ProviderState(subscription, namespace string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.providerState(providerKey(subscription, namespace))
}

// SetRegistrationPolls sets how many reads of a provider still show
// Registering (or Unregistering) after a request to register (or
// unregister) it; 0 by default.
func (s *Server) SetRegistrationPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regPolls = n
}

// SetOperationPolls sets how many polls of a long-running operation
// answer 202 before it completes; 0 by default.
func (s *Server) SetOperationPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lroPolls = n
}

// AddResourceGroup creates a resource group as if someone else had.
func (s *Server) AddResourceGroup(subscription, name, location string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "/subscriptions/" + subscription + "/resourceGroups/" + name
	t := make(map[string]any)
	for k, v := range tags {
		t[k] = v
	}
	s.resources[strings.ToLower(id)] = &resource{id: id, body: map[string]any{"id": id, "name": name, "location": location,
		"type": "Microsoft.Resources/resourceGroups", "tags": t, "properties": map[string]any{"provisioningState": "Succeeded"}}}
}

// AddExport creates a subscription's Cost Management export writing to a
// storage account, as if someone else had.
func (s *Server) AddExport(subscription, name, storageAccountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := exportID(subscription, name)
	s.put(id, map[string]any{"id": id, "name": name, "type": "Microsoft.CostManagement/exports", "eTag": `"1"`,
		"properties": map[string]any{
			"definition":   map[string]any{"type": "ActualCost", "timeframe": "MonthToDate"},
			"deliveryInfo": map[string]any{"destination": map[string]any{"resourceId": storageAccountID, "container": "exports"}},
		}})
}

// AddRoleAssignment gives a principal a role on a scope (a resource ID) as
// if someone else had; roleID is the role definition's GUID.
func (s *Server) AddRoleAssignment(scope, name, roleID, principalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := strings.Split(strings.Trim(scope, "/"), "/")[1]
	s.addRoleAssignment(scope, name, "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+roleID, principalID, "ServicePrincipal")
}

// Resources lists the IDs of the resources the server holds, sorted:
// resource groups, storage accounts, role assignments and exports, plus
// containers as "blob:<account>/<container>".
func (s *Server) Resources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.resources {
		out = append(out, r.id)
	}
	for c := range s.containers {
		out = append(out, "blob:"+c)
	}
	sort.Strings(out)
	return out
}

func providerKey(sub, ns string) string { return strings.ToLower(sub + "/" + ns) }

func (s *Server) providerState(key string) string {
	if st, ok := s.providers[key]; ok {
		return st
	}
	return "NotRegistered"
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) >= 2 && (strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") || strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token")) {
		s.serveEntra(w, r, segs[0], body)
		return
	}
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: canonical(body)})
	if segs[0] == "blob" {
		s.serveBlob(w, r, segs[1:])
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || !s.tokens[strings.TrimPrefix(auth, "Bearer ")] {
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	var in map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
			return
		}
	}
	s.serveARM(w, r, segs, in)
}

// fail answers with the failure set for op, if any.
func (s *Server) fail(w http.ResponseWriter, op string) bool {
	f := s.fails[op]
	if f == nil || f.times == 0 {
		return false
	}
	if f.times > 0 {
		f.times--
	}
	armError(w, f.status, f.code, f.message)
	return true
}

func armError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// canonical re-encodes a JSON body with sorted keys.
func canonical(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return string(body)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// serveEntra answers the tenant's OpenID configuration and the token
// endpoint (client credentials with a secret).
func (s *Server) serveEntra(w http.ResponseWriter, r *http.Request, tenant string, body []byte) {
	base := s.URL + "/" + tenant
	if strings.HasSuffix(r.URL.Path, "/openid-configuration") {
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
			"jwks_uri":               base + "/discovery/v2.0/keys",
		})
		return
	}
	form, _ := url.ParseQuery(string(body))
	if r.Method != http.MethodPost || form.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type."})
		return
	}
	if tenant != TenantID {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "AADSTS90002: Tenant '" + tenant + "' not found."})
		return
	}
	if form.Get("client_id") != ClientID || form.Get("client_secret") != ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."})
		return
	}
	s.seq++
	claims, _ := json.Marshal(map[string]any{"aud": "https://management.azure.com", "iss": "https://sts.windows.net/" + TenantID + "/",
		"tid": TenantID, "oid": PrincipalID, "appid": ClientID, "exp": time.Now().Add(time.Hour).Unix(), "jti": fmt.Sprint(s.seq)})
	enc := base64.RawURLEncoding.EncodeToString
	token := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + ".fake"
	s.tokens[token] = true
	s.tokenRequests++
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
}

// serveBlob answers container create and delete for any storage account
// that signs with a shared key (the signature is not checked).
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, segs []string) {
	blobError := func(status int, code string) {
		w.Header().Set("x-ms-error-code", code)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
	}
	if len(segs) != 2 || r.URL.Query().Get("restype") != "container" {
		blobError(http.StatusBadRequest, "InvalidUri")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "SharedKey "+segs[0]+":") {
		blobError(http.StatusForbidden, "AuthenticationFailed")
		return
	}
	key := segs[0] + "/" + segs[1]
	switch r.Method {
	case http.MethodPut:
		if s.fail(w, ContainerCreate) {
			return
		}
		if s.containers[key] {
			blobError(http.StatusConflict, "ContainerAlreadyExists")
			return
		}
		s.containers[key] = true
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		if s.fail(w, ContainerDelete) {
			return
		}
		if !s.containers[key] {
			blobError(http.StatusNotFound, "ContainerNotFound")
			return
		}
		delete(s.containers, key)
		w.WriteHeader(http.StatusAccepted)
	default:
		blobError(http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	}
}
