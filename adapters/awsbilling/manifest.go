package awsbilling

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

var (
	// <prefix>/<report>/<yyyyMMdd-yyyyMMdd>/<report>-Manifest.json: the
	// period's top-level manifest, which AWS rewrites on each refresh to
	// name the newest assembly. Assembly folders hold copies one level
	// deeper, which this pattern does not match.
	curManifestRE = regexp.MustCompile(`(?:^|/)([^/]+)/(\d{8})-(\d{8})/([^/]+)-Manifest\.json$`)
	// <prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/[…/]<name>-Manifest.json
	exportManifestRE = regexp.MustCompile(`(?:^|/)([^/]+)/metadata/BILLING_PERIOD=(\d{4})-(\d{2})/(?:.+/)?[^/]*Manifest\.json$`)
)

// maxManifestSize bounds what is read of a manifest, which is metadata.
const maxManifestSize = 64 << 20

// curManifest is the part of a legacy CUR manifest this package uses. Its
// column list is a template, not the files' real header, so it is ignored.
type curManifest struct {
	AssemblyID    string `json:"assemblyId"`
	ReportName    string `json:"reportName"`
	BillingPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"billingPeriod"`
	ReportKeys []string `json:"reportKeys"`
}

// exportManifest is the part of a Data Exports manifest this package uses.
type exportManifest struct {
	ExecutionID string   `json:"executionId"`
	ExportName  string   `json:"exportName"`
	DataFiles   []string `json:"dataFiles"`
	Columns     []struct {
		Name string `json:"name"`
	} `json:"columns"`
}

// kind guesses from the manifest's column list whether the export is
// FOCUS or CUR 2.0; empty when the manifest does not say.
func (m exportManifest) kind() Kind {
	for _, c := range m.Columns {
		switch {
		case c.Name == "BilledCost":
			return KindFOCUS
		case strings.HasPrefix(c.Name, "line_item_"):
			return KindCUR2
		}
	}
	return ""
}

// readJSON reads and decodes a manifest, reporting bad JSON with its line.
func readJSON(ctx context.Context, b billing.Bucket, key string, v any) error {
	rc, err := b.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("open manifest %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestSize))
	if err != nil {
		return csvfile.ReadError(key, 1, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		line := 1
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line += bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		case errors.As(err, &te):
			line += bytes.Count(data[:min(int(te.Offset), len(data))], []byte("\n"))
		}
		return billing.InputError(key, line, "", "not a valid manifest: %v", err)
	}
	return nil
}

// localKey finds the object a manifest names, in the bucket as this source
// sees it. Manifests name files by their key in the export bucket (or an
// s3:// URL); the bucket read here may be a copy rooted elsewhere, so the
// part after the anchor folder ("/<report>/<period>/" or "/<export>/data/")
// is joined to where that folder is found here.
func localKey(named, anchor, base string) (string, bool) {
	if rest, ok := strings.CutPrefix(named, "s3://"); ok {
		_, named, _ = strings.Cut(rest, "/")
	}
	named = "/" + strings.TrimPrefix(named, "/")
	i := strings.LastIndex(named, anchor)
	if i < 0 {
		return "", false
	}
	return base + named[i+len(anchor):], true
}

// partFiles resolves a manifest's file list against the listing and
// returns the part's files and a digest of their identity.
func partFiles(manifestKey string, named []string, anchor, base string, objects map[string]billing.Object) ([]billing.SourceFile, string, error) {
	files := make([]billing.SourceFile, 0, len(named))
	h := sha256.New()
	seen := make(map[string]bool, len(named))
	for _, n := range named {
		key, ok := localKey(n, anchor, base)
		if !ok {
			return nil, "", domain.Errorf(domain.Invalid, "%s: names %q, which is outside %s", manifestKey, n, strings.Trim(anchor, "/"))
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		obj, ok := objects[key]
		if !ok {
			return nil, "", domain.Errorf(domain.Invalid, "%s: names %s, which the bucket does not hold", manifestKey, key)
		}
		files = append(files, billing.SourceFile{Name: key, Size: obj.Size})
		stamp := obj.ETag
		if stamp == "" {
			stamp = obj.Modified.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", key, obj.Size, stamp)
	}
	return files, hex.EncodeToString(h.Sum(nil))[:16], nil
}

// curPart builds the part of one legacy CUR period from its top-level
// manifest: exactly the newest assembly's reportKeys.
func curPart(ctx context.Context, b billing.Bucket, obj billing.Object, match []string, objects map[string]billing.Object) (billing.Part, error) {
	report, from := match[1], match[2]
	period, err := time.Parse("20060102", from)
	if err != nil {
		return billing.Part{}, domain.Errorf(domain.Invalid, "%s: %q is not a period folder (want yyyyMMdd-yyyyMMdd)", obj.Key, match[2]+"-"+match[3])
	}
	var m curManifest
	if err := readJSON(ctx, b, obj.Key, &m); err != nil {
		return billing.Part{}, err
	}
	if m.AssemblyID == "" {
		return billing.Part{}, billing.InputError(obj.Key, 1, "assemblyId", "missing: not a CUR manifest")
	}
	if m.BillingPeriod.Start != "" {
		start, err := time.Parse("20060102T150405.000Z", m.BillingPeriod.Start)
		if err != nil {
			start, err = parseTime(m.BillingPeriod.Start)
		}
		if err != nil || !start.Equal(period) {
			return billing.Part{}, billing.InputError(obj.Key, 1, "billingPeriod.start",
				"%q does not match the period folder %s", m.BillingPeriod.Start, match[2]+"-"+match[3])
		}
	}
	folder := strings.TrimSuffix(obj.Key, match[4]+"-Manifest.json")
	anchor := "/" + report + "/" + match[2] + "-" + match[3] + "/"
	files, digest, err := partFiles(obj.Key, m.ReportKeys, anchor, folder, objects)
	if err != nil {
		return billing.Part{}, err
	}
	return billing.Part{Period: period, Version: versionCUR + m.AssemblyID + ":" + digest, Files: files}, nil
}

// exportPart builds the part of one Data Exports period from its newest
// manifest.
func exportPart(ctx context.Context, b billing.Bucket, obj billing.Object, match []string, objects map[string]billing.Object) (billing.Part, Kind, error) {
	period, err := time.Parse("2006-01", match[2]+"-"+match[3])
	if err != nil {
		return billing.Part{}, "", domain.Errorf(domain.Invalid, "%s: BILLING_PERIOD=%s-%s is not a month", obj.Key, match[2], match[3])
	}
	var m exportManifest
	if err := readJSON(ctx, b, obj.Key, &m); err != nil {
		return billing.Part{}, "", err
	}
	export := match[1]
	i := strings.LastIndex(obj.Key, export+"/metadata/")
	base := obj.Key[:i] + export + "/data/"
	files, digest, err := partFiles(obj.Key, m.DataFiles, "/"+export+"/data/", base, objects)
	if err != nil {
		return billing.Part{}, "", err
	}
	id := m.ExecutionID
	if id == "" {
		id = obj.ETag
	}
	return billing.Part{Period: period, Version: versionExport + id + ":" + digest, Files: files}, m.kind(), nil
}
