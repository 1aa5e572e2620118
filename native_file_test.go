package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

var billedUSD = regexp.MustCompile(`BilledCost USD (-?[0-9.]+)`)

// TestSingleNativeFilesAreIngestedByTheirHeader ingests one file of each
// provider-native kind, as a user downloads it, and checks each run's
// BilledCost against the total computed independently from the file.
func TestSingleNativeFilesAreIngestedByTheirHeader(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	data := func(p string) string { return filepath.Join(wd, "adapters", p) }
	cases := []struct {
		org, file, format, rows, want string
	}{
		// Microsoft's public EA actual-cost sample: MM/DD/YYYY dates, tags without braces.
		{"ea-auto", data("azurebilling/testdata/portal/ea-actual-cost.csv"), "auto", "11", "8.5450077867419368"},
		{"ea-azure", data("azurebilling/testdata/portal/ea-actual-cost.csv"), "azure", "11", "8.5450077867419368"},
		{"ea-amortized", data("azurebilling/testdata/portal/ea-amortized-cost.csv"), "auto", "28", ""},
		{"cur", data("awsbilling/testdata/bucket/cur-prefix/cur-daily/20260901-20261001/7b349f95-bd1e-46ed-a116-229417e08def/September-2026-cur-daily.csv.gz"),
			"auto", "4320", "188.10055566946308119266"},
		{"cur-format", data("awsbilling/testdata/bucket/cur-prefix/cur-daily/20261001-20261101/57dd8ed7-d7e8-4130-9839-561004170c21/October-2026-cur-daily.csv.gz"),
			"aws-cur", "432", "18.78315657438083171284"},
		{"gcp", data("gcpbilling/testdata/8f2d6c1e-bq-export/202609_8f2d6c1e-bq-export_2026-09-01_2026-10-04.jsonl.gz"), "auto", "", "95.1021935999999994240"},
		{"gcp-format", data("gcpbilling/testdata/8f2d6c1e-bq-export/202609_8f2d6c1e-bq-export_2026-09-01_2026-10-04.jsonl.gz"), "gcp", "", "95.1021935999999994240"},
		{"oci", data("ocibilling/testdata/bucket/report_cost-1950_2026-09.csv"), "auto", "2880", "331.98480"},
		{"oci-format", data("ocibilling/testdata/bucket/report_cost-7576_2026-10.csv"), "oci", "288", "33.19848"},
	}
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		for _, c := range cases {
			if out, code := cmd(t, dir, dbURL, "", "orgs", "create", c.org); code != 0 {
				t.Fatal(out)
			}
			out, code := cmd(t, dir, dbURL, "", "ingest", "--org", c.org, "--source", c.file, "--format", c.format)
			if code != 0 || (c.rows != "" && !strings.Contains(out, "ingested "+c.rows+" rows from 1 file(s)")) {
				t.Errorf("%s: exit %d\n%s", c.org, code, out)
				continue
			}
			if c.want == "" {
				continue
			}
			m := billedUSD.FindStringSubmatch(out)
			if m == nil || !decimal.RequireFromString(m[1]).Equal(decimal.RequireFromString(c.want)) {
				t.Errorf("%s: %s\nwant BilledCost USD %s", c.org, out, c.want)
			}
		}
		// Re-reading the unchanged file does nothing.
		out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "ea-auto", "--source", cases[0].file)
		if code != 0 || !strings.Contains(out, "source unchanged") {
			t.Errorf("second ingest: %d %s", code, out)
		}
	})
}

func TestSingleFileOfTheWrongKindIsRefusedByName(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const dbURL = "sqlite://var/truecost.db"
	if out, code := cmd(t, dir, dbURL, "", "orgs", "create", "acme"); code != 0 {
		t.Fatal(out)
	}
	gcp := filepath.Join(wd, "adapters/gcpbilling/testdata/8f2d6c1e-bq-export/202609_8f2d6c1e-bq-export_2026-09-01_2026-10-04.jsonl.gz")
	out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", gcp, "--format", "oci")
	if code != 2 || !strings.Contains(out, gcp+" holds Google Cloud billing export rows (JSONL), not what --format oci reads") {
		t.Errorf("wrong format: %d %s", code, out)
	}
	other := filepath.Join(dir, "inventory.csv")
	if err := os.WriteFile(other, []byte("host,cpu\nweb-1,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", other)
	if code != 2 || !strings.Contains(out, "cannot tell what "+other+" holds") {
		t.Errorf("unknown file: %d %s", code, out)
	}
}
