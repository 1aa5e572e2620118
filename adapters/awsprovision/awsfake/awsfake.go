// Package awsfake is an AWS control plane for tests: one httptest server
// that answers, at a single endpoint, the APIs billing provisioning uses.
// S3 (path-style REST) is served by gofakes3 in memory, with bucket
// policies and AWS's CreateBucket answers emulated here; the JSON APIs of
// Data Exports, the Cost and Usage Report service and Cost Explorer's cost
// allocation tags, and STS AssumeRole (query protocol), are answered from
// state kept in memory. Requests are told apart by the service named in
// their SigV4 credential scope. Every request is recorded, and any
// operation can be made to fail once.
//
// Tests of any package may use it: point an SDK client's BaseEndpoint (or
// awsprovision.Config.Endpoint) at URL.
package awsfake

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// AccountID is the AWS account the fake acts as: the account in the ARNs
// it returns.
const AccountID = "111122223333"

// UserDefinedTags are the tag keys the fake knows at start, all Inactive:
// the cost allocation tags Truecost activates.
var UserDefinedTags = []string{"Date", "GroupID", "Name", "OrganizationID", "Pool", "Project", "Session", "SessionID", "User"}

// Operation names, as Call.Op reports them and FailOnce takes them.
const (
	CreateBucket       = "CreateBucket"
	DeleteBucket       = "DeleteBucket"
	HeadBucket         = "HeadBucket"
	PutBucketPolicy    = "PutBucketPolicy"
	GetBucketPolicy    = "GetBucketPolicy"
	DeleteBucketPolicy = "DeleteBucketPolicy"
	ListObjectsV2      = "ListObjectsV2"
	DeleteObjects      = "DeleteObjects"
	PutObject          = "PutObject"
	GetObject          = "GetObject"
	DeleteObject       = "DeleteObject"

	CreateExport = "CreateExport"
	GetExport    = "GetExport"
	ListExports  = "ListExports"
	DeleteExport = "DeleteExport"

	PutReportDefinition       = "PutReportDefinition"
	DeleteReportDefinition    = "DeleteReportDefinition"
	DescribeReportDefinitions = "DescribeReportDefinitions"

	UpdateCostAllocationTagsStatus = "UpdateCostAllocationTagsStatus"
	ListCostAllocationTags         = "ListCostAllocationTags"

	AssumeRole = "AssumeRole"
)

// X-Amz-Target prefixes of the JSON APIs.
const (
	TargetDataExports = "AWSBillingAndCostManagementDataExports."
	TargetCUR         = "AWSOrigamiServiceGatewayService."
	TargetCostExplore = "AWSInsightsIndexService."
)

// Call is one request as received.
type Call struct {
	// Op is the operation, e.g. "CreateBucket" or "CreateExport".
	Op     string
	Method string
	Path   string
	// Query leaves out the SDK's x-id parameter.
	Query string
	// Target is the X-Amz-Target header of JSON API calls.
	Target string
	// Body is a JSON body re-encoded with sorted keys, an XML or form body
	// as sent, and empty for object uploads.
	Body string
	// Region, Service and AccessKeyID come from the SigV4 credential scope.
	Region      string
	Service     string
	AccessKeyID string
}

// String is "METHOD PATH[?QUERY][ TARGET][ BODY]", handy to compare.
func (c Call) String() string {
	s := c.Method + " " + c.Path
	if c.Query != "" {
		s += "?" + c.Query
	}
	if c.Target != "" {
		s += " " + c.Target
	}
	if c.Body != "" {
		s += " " + c.Body
	}
	return s
}

type failure struct {
	status        int
	code, message string
}

// Fake is the fake control plane. Its methods are safe for concurrent use.
type Fake struct {
	srv     *httptest.Server
	s3      http.Handler
	backend *s3mem.Backend

	mu       sync.Mutex
	calls    []Call
	failures map[string]failure
	policies map[string]string // bucket → policy document
	foreign  map[string]bool   // bucket names owned by another account
	exports  map[string]*export
	reports  map[string]json.RawMessage
	tags     map[string]string // user-defined tag key → Active/Inactive
	denyTags bool
	serial   int
}

type export struct {
	arn  string
	name string
	body json.RawMessage // the Export object as created
	tags json.RawMessage
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{
		backend:  s3mem.New(),
		failures: map[string]failure{},
		policies: map[string]string{},
		foreign:  map[string]bool{},
		exports:  map[string]*export{},
		reports:  map[string]json.RawMessage{},
		tags:     map[string]string{},
	}
	for _, k := range UserDefinedTags {
		f.tags[k] = "Inactive"
	}
	f.s3 = gofakes3.New(f.backend).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint of every API.
func (f *Fake) URL() string { return f.srv.URL }

// Requests returns the calls received so far, in order.
func (f *Fake) Requests() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// FailOnce makes the next call of op fail with the HTTP status, AWS error
// code and message given, in the wire format of op's protocol.
func (f *Fake) FailOnce(op string, status int, code, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[op] = failure{status: status, code: code, message: msg}
}

// DenyTags makes the cost allocation tag APIs answer AccessDeniedException,
// as they do for a member account of an organization.
func (f *Fake) DenyTags(deny bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denyTags = deny
}

// SetTag sets a user-defined tag key's status ("Active" or "Inactive");
// "" makes the key one AWS has not seen.
func (f *Fake) SetTag(key, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == "" {
		delete(f.tags, key)
		return
	}
	f.tags[key] = status
}

// Tags returns the known user-defined tag keys and their status.
func (f *Fake) Tags() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.tags))
	for k, v := range f.tags {
		out[k] = v
	}
	return out
}

// ForeignBucket makes name a bucket owned by another AWS account:
// creating it answers BucketAlreadyExists.
func (f *Fake) ForeignBucket(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.foreign[name] = true
}

// Policy returns a bucket's policy document, "" when it has none.
func (f *Fake) Policy(bucket string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policies[bucket]
}

// Buckets lists the buckets that exist.
func (f *Fake) Buckets() []string {
	infos, err := f.backend.ListBuckets()
	if err != nil {
		return nil
	}
	var out []string
	for _, b := range infos {
		out = append(out, b.Name)
	}
	sort.Strings(out)
	return out
}

// PutObject stores an object directly, as AWS delivering an export would.
func (f *Fake) PutObject(bucket, key string, data []byte) error {
	_, err := f.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
	return err
}

// Objects lists the keys of a bucket's objects.
func (f *Fake) Objects(bucket string) []string {
	list, err := f.backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range list.Contents {
		out = append(out, o.Key)
	}
	return out
}

// Exports returns the Data Exports that exist, by name, each as its ARN.
func (f *Fake) Exports() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, e := range f.exports {
		out[e.name] = e.arn
	}
	return out
}

// Reports lists the names of the legacy CUR report definitions.
func (f *Fake) Reports() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.reports {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var scopeRE = regexp.MustCompile(`Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := Call{Method: r.Method, Path: r.URL.Path, Target: r.Header.Get("X-Amz-Target")}
	if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.AccessKeyID, c.Region, c.Service = m[1], m[2], m[3]
	}
	q := r.URL.Query()
	q.Del("x-id")
	c.Query = strings.ReplaceAll(q.Encode(), "=&", "&")
	c.Query = strings.TrimSuffix(c.Query, "=")

	var proto protocol
	switch {
	case c.Target != "":
		proto = jsonProtocol
		_, c.Op, _ = strings.Cut(c.Target, ".")
		c.Body = canonicalJSON(body)
	case c.Service == "sts" || (r.Method == http.MethodPost && r.URL.Path == "/" && bytes.Contains(body, []byte("Action="))):
		proto = queryProtocol
		form, _ := url.ParseQuery(string(body))
		c.Op = form.Get("Action")
		c.Body = string(body)
	default:
		proto = restXMLProtocol
		c.Op = s3Op(r)
		switch {
		case c.Op == PutObject:
		case c.Op == PutBucketPolicy:
			c.Body = canonicalJSON(body)
		default:
			c.Body = strings.TrimSpace(string(body))
		}
	}

	f.mu.Lock()
	f.calls = append(f.calls, c)
	fail, failing := f.failures[c.Op]
	delete(f.failures, c.Op)
	f.mu.Unlock()
	if failing {
		proto.fail(w, fail.status, fail.code, fail.message)
		return
	}

	switch proto {
	case jsonProtocol:
		f.serveJSON(w, c.Op, body)
	case queryProtocol:
		f.serveSTS(w, c.Op, body)
	default:
		f.serveS3(w, r, c, body)
	}
}

// canonicalJSON re-encodes a JSON document with sorted keys; other bytes
// are returned as they are.
func canonicalJSON(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

type protocol int

const (
	restXMLProtocol protocol = iota
	jsonProtocol
	queryProtocol
)

// fail writes an error in the protocol's wire format.
func (p protocol) fail(w http.ResponseWriter, status int, code, msg string) {
	switch p {
	case jsonProtocol:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	case queryProtocol:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
			xmlText(code), xmlText(msg))
	default:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>fake</RequestId></Error>`,
			xmlText(code), xmlText(msg))
	}
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
