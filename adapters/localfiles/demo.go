package localfiles

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed demo
var demoFiles embed.FS

// WriteDemo writes the bundled sample exports under dir as
// dir/<organization slug>/<source>/… and returns each organization's source
// folders (focus, aws, azure, gcp, oci), sorted. Files whose content is
// already there are left untouched, so their modification time — and the
// source version — stays the same and a repeated demo load is a no-op.
func WriteDemo(dir string) (map[string][]string, error) {
	folders := map[string][]string{}
	err := fs.WalkDir(demoFiles, "demo", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) == ".md" {
			return err
		}
		rel, _ := filepath.Rel("demo", path)
		parts := strings.SplitN(filepath.ToSlash(rel), "/", 3)
		if len(parts) < 3 {
			return fmt.Errorf("demo file %s is not under <slug>/<source>/", rel)
		}
		target := filepath.Join(dir, rel)
		src := filepath.Join(dir, parts[0], parts[1])
		if !slices.Contains(folders[parts[0]], src) {
			folders[parts[0]] = append(folders[parts[0]], src)
		}
		data, err := demoFiles.ReadFile(path)
		if err != nil {
			return err
		}
		if old, err := os.ReadFile(target); err == nil && bytes.Equal(old, data) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o640)
	})
	if err != nil {
		return nil, fmt.Errorf("write demo data: %w", err)
	}
	for _, f := range folders {
		slices.Sort(f)
	}
	return folders, nil
}
