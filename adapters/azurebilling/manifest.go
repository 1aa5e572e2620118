package azurebilling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// manifestName is the file a partitioned export writes last in each run
// folder, listing the run's blobs.
const manifestName = "manifest.json"

// exportManifest is the part of a Cost Management export manifest this
// package reads (manifest versions 2023-07-01-preview to 2024-08-01).
type exportManifest struct {
	ByteCount    int64 `json:"byteCount"`
	DataRowCount int64 `json:"dataRowCount"`
	ExportConfig struct {
		ExportName  string `json:"exportName"`
		ResourceID  string `json:"resourceId"`
		DataVersion string `json:"dataVersion"`
		Type        string `json:"type"`
	} `json:"exportConfig"`
	RunInfo struct {
		RunID         string `json:"runId"`
		SubmittedTime string `json:"submittedTime"`
		StartDate     string `json:"startDate"`
		EndDate       string `json:"endDate"`
	} `json:"runInfo"`
	Blobs []struct {
		BlobName     string `json:"blobName"`
		ByteCount    int64  `json:"byteCount"`
		DataRowCount int64  `json:"dataRowCount"`
	} `json:"blobs"`
}

// readManifest fetches and parses one manifest.
func readManifest(ctx context.Context, b billing.Bucket, key string) (*exportManifest, error) {
	rc, err := b.Open(ctx, key)
	if err != nil {
		return nil, storeError(err, "open export manifest %s", key)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, storeError(err, "read export manifest %s", key)
	}
	return parseManifest(key, data)
}

func parseManifest(key string, data []byte) (*exportManifest, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var m exportManifest
	if err := json.Unmarshal(data, &m); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, billing.InputError(key, lineAt(data, syn.Offset), "", "not a valid export manifest: %v", err)
		case errors.As(err, &typ):
			return nil, billing.InputError(key, lineAt(data, typ.Offset), typ.Field, "not a valid export manifest: want a %s, found a JSON %s", typ.Type, typ.Value)
		}
		return nil, billing.InputError(key, 1, "", "not a valid export manifest: %v", err)
	}
	if m.RunInfo.RunID == "" && m.ExportConfig.Type == "" && m.Blobs == nil {
		return nil, billing.InputError(key, 1, "", "not an export manifest: no runInfo, exportConfig or blobs")
	}
	for i, b := range m.Blobs {
		if strings.TrimSpace(b.BlobName) == "" {
			return nil, billing.InputError(key, 1, fmt.Sprintf("blobs[%d].blobName", i), "must not be empty")
		}
	}
	return &m, nil
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// submitted returns when the run was submitted, or fallback when the
// manifest does not say.
func (m *exportManifest) submitted(fallback time.Time) time.Time {
	if t, err := focusfile.ParseTime(m.RunInfo.SubmittedTime); err == nil {
		return t
	}
	return fallback
}

// blobKey finds the listed object a manifest's blob name designates. Names
// are relative to the container, sometimes with the container's name or a
// full URL in front; a bucket may also be rooted above the container (a
// local copy). inDir holds the objects of the run's range folder, where
// every blob of the run lives.
func blobKey(name string, byKey map[string]billing.Object, inDir []billing.Object) (billing.Object, bool) {
	name = strings.TrimSpace(name)
	if u, err := url.Parse(name); err == nil && u.Scheme != "" && u.Host != "" {
		name = u.Path
	}
	name = strings.TrimLeft(path.Clean("/"+name), "/")
	if o, ok := byKey[name]; ok {
		return o, true
	}
	var found billing.Object
	n := 0
	for _, o := range inDir {
		if strings.HasSuffix(o.Key, "/"+name) || strings.HasSuffix(name, "/"+o.Key) {
			found = o
			n++
		}
	}
	return found, n == 1
}

// storeError keeps a bucket's domain error and marks any other failure as
// the store being unavailable.
func storeError(err error, format string, args ...any) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if domain.ErrorCode(err) != domain.Internal {
		return err
	}
	return domain.WrapError(domain.Unavailable, err, format, args...)
}
