package awsfake

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
)

// s3Op names the S3 operation of a path-style request.
func s3Op(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	if bucket == "" {
		return "ListBuckets"
	}
	if key != "" {
		switch r.Method {
		case http.MethodPut:
			return PutObject
		case http.MethodGet:
			return GetObject
		case http.MethodHead:
			return "HeadObject"
		case http.MethodDelete:
			return DeleteObject
		}
		return "S3"
	}
	if q.Has("policy") {
		switch r.Method {
		case http.MethodPut:
			return PutBucketPolicy
		case http.MethodGet:
			return GetBucketPolicy
		case http.MethodDelete:
			return DeleteBucketPolicy
		}
	}
	switch r.Method {
	case http.MethodPut:
		if len(q) == 0 {
			return CreateBucket
		}
	case http.MethodDelete:
		if len(q) == 0 {
			return DeleteBucket
		}
	case http.MethodHead:
		return HeadBucket
	case http.MethodPost:
		if q.Has("delete") {
			return DeleteObjects
		}
	case http.MethodGet:
		switch {
		case q.Has("location"):
			return "GetBucketLocation"
		case q.Has("versions"):
			return "ListObjectVersions"
		case q.Get("list-type") == "2":
			return ListObjectsV2
		case len(q) == 0 || q.Has("prefix") || q.Has("marker"):
			return "ListObjects"
		}
	}
	return "S3"
}

type createBucketConfiguration struct {
	LocationConstraint string `xml:"LocationConstraint"`
}

// serveS3 answers what gofakes3 does not emulate (bucket policies, AWS's
// CreateBucket answers) and hands the rest to gofakes3.
func (f *Fake) serveS3(w http.ResponseWriter, r *http.Request, c Call, body []byte) {
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	fail := restXMLProtocol.fail
	switch c.Op {
	case CreateBucket:
		var cfg createBucketConfiguration
		if len(body) > 0 {
			if err := xml.Unmarshal(body, &cfg); err != nil {
				fail(w, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed.")
				return
			}
		}
		location := cfg.LocationConstraint
		if location == "" {
			location = "us-east-1"
		}
		switch {
		case cfg.LocationConstraint == "us-east-1":
			fail(w, http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid")
			return
		case c.Region != "" && c.Region != location:
			fail(w, http.StatusBadRequest, "IllegalLocationConstraintException",
				"The "+location+" location constraint is incompatible for the region specific endpoint this request was sent to.")
			return
		}
		f.mu.Lock()
		foreign := f.foreign[bucket]
		f.mu.Unlock()
		if foreign {
			fail(w, http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
			return
		}
		if ok, _ := f.backend.BucketExists(bucket); ok {
			fail(w, http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
			return
		}
	case PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy:
		if ok, _ := f.backend.BucketExists(bucket); !ok {
			fail(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		if c.Op == PutBucketPolicy && !json.Valid(body) {
			fail(w, http.StatusBadRequest, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
			return
		}
		f.mu.Lock()
		policy, has := f.policies[bucket]
		switch c.Op {
		case PutBucketPolicy:
			f.policies[bucket] = string(body)
		case DeleteBucketPolicy:
			delete(f.policies, bucket)
		}
		f.mu.Unlock()
		switch {
		case c.Op != GetBucketPolicy:
			w.WriteHeader(http.StatusNoContent)
		case !has:
			fail(w, http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist")
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(policy))
		}
		return
	case DeleteBucket:
		rec := &statusRecorder{ResponseWriter: w}
		f.s3.ServeHTTP(rec, r)
		if rec.status < 300 {
			f.mu.Lock()
			delete(f.policies, bucket)
			f.mu.Unlock()
		}
		return
	}
	f.s3.ServeHTTP(w, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
