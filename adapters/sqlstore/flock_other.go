//go:build !unix

package sqlstore

import (
	"fmt"
	"os"
	"path/filepath"
)

// flockWorks says whether flockFile really locks.
const flockWorks = false

// flockFile opens (creating) the file at path. Without flock(2) no lock is
// taken: runs are judged by their lease alone, and concurrent ingestions of
// a source are not refused.
func flockFile(path string, wait bool) (*os.File, bool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, fmt.Errorf("create lock folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	return f, true, nil
}
