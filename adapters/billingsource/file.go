package billingsource

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Kinds of a single billing file, found from its header.
const (
	kindFOCUS   = "focus"
	kindCUR     = "aws-cur"
	kindCUR2    = "aws-cur2"
	kindAzure   = "azure"
	kindGCP     = "gcp"
	kindOCICost = "oci"
)

// kindNames say what each kind is in messages.
var kindNames = map[string]string{
	kindFOCUS:   "a FOCUS file",
	kindCUR:     "an AWS Cost and Usage Report (legacy CUR)",
	kindCUR2:    "an AWS CUR 2.0 file",
	kindAzure:   "an Azure cost-details file",
	kindGCP:     "Google Cloud billing export rows (JSONL)",
	kindOCICost: "an OCI cost report",
}

// maxSniff bounds what is read of a file to tell its kind.
const maxSniff = 1 << 20

// sniffFile tells what kind of billing file path holds from its first line
// (gzip is undone first); "" when it is none Truecost reads.
func sniffFile(path string) (string, error) {
	f, err := localfiles.OpenRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	text, done, err := focusfile.Decompress(path, bufio.NewReader(io.LimitReader(f, maxSniff)))
	if err != nil {
		return "", err
	}
	defer done()
	head, _ := text.Peek(4)
	head = bytes.TrimPrefix(head, []byte("\uFEFF"))
	if len(head) > 0 && head[0] == '{' {
		line, _ := text.ReadBytes('\n')
		if gcpbilling.IsExportRow(bytes.TrimSpace(line)) {
			return kindGCP, nil
		}
		return "", nil
	}
	header, err := csvfile.ReadHeader(text)
	if err != nil {
		return "", nil
	}
	switch {
	case focusfile.IsHeader(header):
		return kindFOCUS, nil
	case awsbilling.CURHeaderKind(header) != "":
		return awsbilling.CURHeaderKind(header), nil
	case azurebilling.IsCostDetailsHeader(header):
		return kindAzure, nil
	case ocibilling.IsCostReportHeader(header):
		return kindOCICost, nil
	}
	return "", nil
}

// fileKind checks that the file at path is of a kind format reads ("auto"
// takes any) and returns the kind.
func fileKind(path, format string) (string, error) {
	kind, err := sniffFile(path)
	if err != nil {
		return "", err
	}
	if kind == "" {
		return "", domain.Errorf(domain.Invalid, "cannot tell what %s holds: its first line is not the header of a FOCUS file, "+
			"an AWS CUR or CUR 2.0 file, an Azure cost-details file, an OCI cost report, or a Google Cloud billing export row", path)
	}
	ok := false
	switch format {
	case "auto":
		ok = true
	case "focus":
		ok = kind == kindFOCUS
	case "aws-cur", "aws-cur2":
		ok = kind == kindCUR || kind == kindCUR2
	case "azure":
		ok = kind == kindAzure || kind == kindFOCUS // a FocusCost export
	case "gcp":
		ok = kind == kindGCP
	case "oci":
		ok = kind == kindOCICost || kind == kindFOCUS // a FOCUS report
	}
	if !ok {
		return "", domain.Errorf(domain.Invalid, "%s holds %s, not what --format %s reads", path, kindNames[kind], format)
	}
	return kind, nil
}

// fileSource reads one provider-native billing file as a whole source:
// its billing periods come from the data, and a period it no longer holds
// when re-read is retired, as with a FOCUS file.
type fileSource struct {
	path   string
	format string // the provider format asked for; decides a FOCUS file's reader
	kind   string
}

var _ billing.Source = (*fileSource)(nil)

// Scan describes the file; its version digests its kind, name, size and
// modification time.
func (s *fileSource) Scan(context.Context) (billing.Manifest, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return billing.Manifest{}, domain.WrapError(domain.Invalid, err, "cannot read source %s", s.path)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\n", s.format, s.kind, s.path, fi.Size(), fi.ModTime().UnixNano())
	part := billing.Part{Version: "file:" + hex.EncodeToString(h.Sum(nil)), Files: []billing.SourceFile{{Name: s.path, Size: fi.Size()}}}
	return billing.Manifest{Format: s.kind, Parts: []billing.Part{part}, Whole: true}, nil
}

// Read decodes the file with its provider's decoder.
func (s *fileSource) Read(ctx context.Context, _ billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	f, err := localfiles.OpenRegular(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := &focusfile.CountingReader{R: f, Report: progress}
	switch s.kind {
	case kindCUR, kindCUR2:
		return awsbilling.DecodeCURForLoad(ctx, s.path, r, fn)
	case kindAzure:
		return azurebilling.Decode(ctx, s.path, r, azurebilling.DecodeOptions{Dataset: azureDataset(s.path)}, fn)
	case kindFOCUS:
		if s.format == "azure" {
			return azurebilling.Decode(ctx, s.path, r, azurebilling.DecodeOptions{}, fn)
		}
	}
	text, done, err := focusfile.Decompress(s.path, focusfile.NewFileReader(r))
	if err != nil {
		return err
	}
	defer done()
	switch s.kind {
	case kindGCP:
		return gcpbilling.DecodeJSONL(ctx, s.path, text, fn)
	case kindOCICost:
		return ocibilling.DecodeCostReport(ctx, s.path, text, fn)
	case kindFOCUS:
		return ocibilling.DecodeFOCUSReport(ctx, s.path, text, fn)
	}
	return domain.Errorf(domain.Invalid, "cannot read %s as %s", s.path, s.kind)
}

// azureDataset is the dataset of a cost-details file, which its columns do
// not tell: amortized when its name says so (as the portal and exports name
// such files), else actual.
func azureDataset(path string) azurebilling.Dataset {
	if strings.Contains(strings.ToLower(filepath.Base(path)), "amortized") {
		return azurebilling.AmortizedCost
	}
	return azurebilling.ActualCost
}
