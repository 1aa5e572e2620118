package localfiles

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Dir is a local folder seen as a bucket: keys are slash-separated paths
// relative to it, so the provider layouts (AWS CUR prefixes, Azure export
// folders, OCI report prefixes) read the same from disk as from the cloud.
type Dir string

var _ billing.Bucket = Dir("")

// List returns the files under the folder whose key starts with prefix, in
// key order. Hidden files and folders, and anything but regular files
// (FIFOs, sockets, devices), are skipped.
func (d Dir) List(ctx context.Context, prefix string) ([]billing.Object, error) {
	root := string(d)
	var out []billing.Object
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.HasPrefix(e.Name(), ".") && path != root {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		key := filepath.ToSlash(rel)
		if e.IsDir() {
			// Skip folders that cannot contain a match.
			if path != root && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) || !IsRegular(path, e) {
			return nil
		}
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		out = append(out, billing.Object{Key: key, Size: info.Size(), Modified: info.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot list %s", root)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Open opens the file at key.
func (d Dir) Open(_ context.Context, key string) (io.ReadCloser, error) {
	clean := filepath.Clean(filepath.FromSlash(key))
	if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
		return nil, domain.Errorf(domain.Invalid, "key %q leaves the folder", key)
	}
	path := filepath.Join(string(d), clean)
	if fi, err := os.Stat(path); err != nil {
		return nil, domain.WrapError(domain.NotFound, err, "cannot open %s", key)
	} else if !fi.Mode().IsRegular() {
		return nil, domain.Errorf(domain.Invalid, "%s is not a regular file", key)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, domain.WrapError(domain.NotFound, err, "cannot open %s", key)
	}
	return f, nil
}
