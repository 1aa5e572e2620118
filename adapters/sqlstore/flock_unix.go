//go:build unix

package sqlstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// flockWorks says whether flockFile really locks.
const flockWorks = true

// flockFile opens (creating) the file at path and locks it exclusively
// with flock(2), waiting for the lock when wait is set. ok is false when
// another open file holds the lock and wait is not set. Closing the file,
// or the process ending, releases the lock. A lock taken on a file that
// someone removed meanwhile is worthless, so the file locked must still be
// the one at path; if not, it starts over.
func flockFile(path string, wait bool) (f *os.File, ok bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, fmt.Errorf("create lock folder: %w", err)
	}
	for {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("open lock file: %w", err)
		}
		how := syscall.LOCK_EX
		if !wait {
			how |= syscall.LOCK_NB
		}
		for {
			err = syscall.Flock(int(f.Fd()), how)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		switch {
		case errors.Is(err, syscall.EWOULDBLOCK):
			f.Close()
			return nil, false, nil
		case err != nil:
			f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		held, herr := f.Stat()
		now, perr := os.Stat(path)
		if herr == nil && perr == nil && os.SameFile(held, now) {
			return f, true, nil
		}
		f.Close()
	}
}
