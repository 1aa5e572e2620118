package localfiles

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed demo
var demoFiles embed.FS

// WriteDemo writes the bundled sample exports under dir, one folder per demo
// organization slug, and returns those folders by slug. Files whose content
// is already there are left untouched, so their modification time — and the
// source version — stays the same and a repeated demo load is a no-op.
func WriteDemo(dir string) (map[string]string, error) {
	folders := map[string]string{}
	err := fs.WalkDir(demoFiles, "demo", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) == ".md" {
			return err
		}
		rel, _ := filepath.Rel("demo", path)
		slug := filepath.Dir(rel)
		target := filepath.Join(dir, rel)
		folders[slug] = filepath.Join(dir, slug)
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
	return folders, nil
}
