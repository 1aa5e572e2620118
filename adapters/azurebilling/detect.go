package azurebilling

import (
	"bufio"
	"bytes"
	"context"
	"io"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/domain/billing"
)

// Detect reports whether the objects below prefix look like Cost Management
// exports: a date-range folder holding an export manifest, or, in the older
// layout, a CSV file with a cost-details header. It reads at most a few
// small objects; listing or reading failures are returned.
func Detect(ctx context.Context, bucket billing.Bucket, prefix string) (bool, error) {
	objs, err := bucket.List(ctx, folderPrefix(prefix))
	if err != nil {
		return false, storeError(err, "list %q", prefix)
	}
	folders := rangeFolders(objs)
	for _, f := range folders {
		if len(f.manifests) == 0 {
			continue
		}
		if _, err := readManifest(ctx, bucket, f.manifests[0].Key); err == nil {
			return true, nil
		}
	}
	tried := 0
	for _, f := range folders {
		for _, o := range f.direct {
			if tried == 3 {
				return false, nil
			}
			tried++
			ok, err := costDetailsHeader(ctx, bucket, o.Key)
			if err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// maxHeaderLine bounds what Detect reads of an object to find its header.
const maxHeaderLine = 1 << 20

// costDetailsHeader reports whether a CSV or gzipped CSV object starts
// with a cost-details header naming a subscription or meter.
func costDetailsHeader(ctx context.Context, bucket billing.Bucket, key string) (bool, error) {
	rc, err := bucket.Open(ctx, key)
	if err != nil {
		return false, storeError(err, "open %s", key)
	}
	defer rc.Close()
	br := bufio.NewReader(io.LimitReader(rc, maxHeaderLine))
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return false, nil
		}
		defer gz.Close()
		r = gz
	}
	hdr, err := csvfile.ReadHeader(r)
	if err != nil {
		return false, nil
	}
	return IsCostDetailsHeader(hdr), nil
}

// IsCostDetailsHeader reports whether header is a cost-details file's
// (EA, MCA or pay-as-you-go columns, any casing), as the portal's download
// and the exports write it.
func IsCostDetailsHeader(header []string) bool {
	lay, missing := newLayout(header)
	return len(missing) == 0 && (lay.at[fSubscriptionID] >= 0 || lay.at[fMeterCategory] >= 0)
}
