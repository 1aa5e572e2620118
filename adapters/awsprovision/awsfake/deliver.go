package awsfake

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// DeliverCUR2 writes one billing period of a CUR 2.0 export into the
// bucket as Data Exports delivers it with OVERWRITE_REPORT: a gzipped CSV
// under <prefix>/<export>/data/BILLING_PERIOD=<period>/ and the manifest
// naming it under <prefix>/<export>/metadata/BILLING_PERIOD=<period>/.
// rows[0] is the header; period is YYYY-MM.
func (f *Fake) DeliverCUR2(bucket, prefix, export, period string, rows [][]string) error {
	if len(rows) == 0 {
		return fmt.Errorf("no header")
	}
	data, err := gzipCSV(rows)
	if err != nil {
		return err
	}
	part := "BILLING_PERIOD=" + period
	dataKey := path.Join(prefix, export, "data", part, export+"-00001.csv.gz")
	cols := make([]map[string]string, 0, len(rows[0]))
	for _, c := range rows[0] {
		cols = append(cols, map[string]string{"name": c, "type": "string"})
	}
	manifest, err := json.Marshal(map[string]any{
		"executionId":       "exec-" + strings.ReplaceAll(period, "-", ""),
		"exportName":        export,
		"exportArn":         fmt.Sprintf("arn:aws:bcm-data-exports:us-east-1:%s:export/%s", AccountID, export),
		"billingPeriod":     map[string]string{"start": period + "-01T00:00:00.000Z"},
		"dataFiles":         []string{"s3://" + bucket + "/" + dataKey},
		"columns":           cols,
		"deliveryTimestamp": time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC).Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	if err := f.PutObject(bucket, dataKey, data); err != nil {
		return err
	}
	return f.PutObject(bucket, path.Join(prefix, export, "metadata", part, export+"-Manifest.json"), manifest)
}

// DeliverCUR writes one billing period of a legacy Cost and Usage Report
// as AWS delivers it with OVERWRITE_REPORT: a gzipped CSV and the
// manifest naming it, both in <prefix>/<report>/<yyyyMMdd-yyyyMMdd>/.
// rows[0] is the header (lineItem/UnblendedCost style); period is YYYY-MM.
func (f *Fake) DeliverCUR(bucket, prefix, report, period string, rows [][]string) error {
	if len(rows) == 0 {
		return fmt.Errorf("no header")
	}
	start, err := time.Parse("2006-01", period)
	if err != nil {
		return err
	}
	end := start.AddDate(0, 1, 0)
	data, err := gzipCSV(rows)
	if err != nil {
		return err
	}
	folder := path.Join(prefix, report, start.Format("20060102")+"-"+end.Format("20060102"))
	dataKey := path.Join(folder, report+"-00001.csv.gz")
	cols := make([]map[string]string, 0, len(rows[0]))
	for _, c := range rows[0] {
		category, name, _ := strings.Cut(c, "/")
		cols = append(cols, map[string]string{"category": category, "name": name})
	}
	manifest, err := json.Marshal(map[string]any{
		"assemblyId": "assembly-" + strings.ReplaceAll(period, "-", ""),
		"account":    AccountID,
		"reportName": report,
		"billingPeriod": map[string]string{
			"start": start.Format("20060102T150405.000Z"),
			"end":   end.Format("20060102T150405.000Z"),
		},
		"bucket":      bucket,
		"reportKeys":  []string{dataKey},
		"columns":     cols,
		"compression": "GZIP",
		"contentType": "text/csv",
	})
	if err != nil {
		return err
	}
	if err := f.PutObject(bucket, dataKey, data); err != nil {
		return err
	}
	return f.PutObject(bucket, path.Join(folder, report+"-Manifest.json"), manifest)
}

func gzipCSV(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	w := csv.NewWriter(zw)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
