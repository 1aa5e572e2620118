// Package localfiles reads billing exports from a folder or file on the
// machine Truecost runs on: FOCUS cost-and-usage CSV files, plain or
// gzipped. It implements billing.Source for `truecost ingest` and the demo.
package localfiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Source reads the FOCUS files under one path.
type Source struct {
	root   string
	format string
}

var _ billing.Source = (*Source)(nil)

// New returns a Source for path (a file or a folder) in format "focus" or
// "auto" (which detects FOCUS by its header). Provider-native formats are
// read by their own connectors.
func New(path, format string) (*Source, error) {
	if format == "" {
		format = "auto"
	}
	if format != "auto" && format != "focus" {
		return nil, domain.Errorf(domain.Invalid, "format %q cannot be read from local files by this version; use focus or auto", format)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot read source %s", path)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, domain.Errorf(domain.Invalid, "source %s is not a regular file or a folder", path)
	}
	return &Source{root: path, format: format}, nil
}

// Scan lists the source's CSV files in path order. The version digests
// each file's name, size and modification time, so a rewritten or added file
// changes it while an untouched folder does not.
func (s *Source) Scan(ctx context.Context) (billing.Manifest, error) {
	var files []billing.SourceFile
	h := sha256.New()
	info, err := os.Stat(s.root)
	if err != nil {
		return billing.Manifest{}, domain.WrapError(domain.Invalid, err, "cannot read source %s", s.root)
	}
	add := func(path string, fi fs.FileInfo) {
		files = append(files, billing.SourceFile{Name: path, Size: fi.Size()})
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", path, fi.Size(), fi.ModTime().UnixNano())
	}
	if !info.IsDir() {
		add(s.root, info)
	} else {
		var paths []string
		err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name := strings.ToLower(d.Name())
			if d.IsDir() && strings.HasPrefix(name, ".") && path != s.root {
				return filepath.SkipDir
			}
			// Only regular files: opening a FIFO or a device would block
			// or never end.
			if !d.IsDir() && (strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".csv.gz")) && IsRegular(path, d) {
				paths = append(paths, path)
			}
			return nil
		})
		if err != nil {
			return billing.Manifest{}, domain.WrapError(domain.Invalid, err, "cannot list source %s", s.root)
		}
		if len(paths) == 0 {
			return billing.Manifest{}, domain.Errorf(domain.Invalid, "folder %s holds no FOCUS files (*.csv or *.csv.gz)", s.root)
		}
		sort.Strings(paths)
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				return billing.Manifest{}, domain.WrapError(domain.Invalid, err, "cannot read %s", p)
			}
			add(p, fi)
		}
	}
	// FOCUS files may hold any billing periods: one part, periods from the data.
	part := billing.Part{Version: "files:" + hex.EncodeToString(h.Sum(nil)), Files: files}
	// The files are the whole source: a period they no longer hold is gone.
	return billing.Manifest{Format: "focus", Parts: []billing.Part{part}, Whole: true}, nil
}

// Read streams every file's line items in the part's order.
func (s *Source) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	var done int64
	for _, f := range p.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := done
		err := readFile(ctx, f.Name, fn, func(n int64) {
			if progress != nil {
				progress(base + n)
			}
		})
		if err != nil {
			return err
		}
		done += f.Size
	}
	return nil
}

func readFile(ctx context.Context, path string, fn func(*billing.LineItem) error, progress func(int64)) error {
	f, err := OpenRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	text, done, err := focusfile.Decompress(path, focusfile.NewFileReader(&focusfile.CountingReader{R: f, Report: progress}))
	if err != nil {
		return err
	}
	defer done()
	return focusfile.Decode(ctx, path, text, fn)
}

// IsRegular reports whether the entry d at path is a regular file, or a
// symbolic link to one.
func IsRegular(path string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	if d.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// OpenRegular opens the regular file at path, refusing anything else
// (a FIFO would block the open until a writer came) with a domain.Invalid
// error naming it.
func OpenRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot open %s", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, domain.Errorf(domain.Invalid, "%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot open %s", path)
	}
	return f, nil
}
