package localfiles

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/truecost/truecost/domain"
)

// SecretKeyPath is where the embedded default keeps the key of the SQLite
// database at dbPath: beside it, named after it (var/truecost.db has
// var/truecost.db.key), so the key follows the database whatever the
// working directory.
func SecretKeyPath(dbPath string) string { return dbPath + ".key" }

// LegacySecretKey is where versions before SecretKeyPath kept the key:
// relative to the working directory.
const LegacySecretKey = "var/secret.key"

// AdoptLegacySecretKey moves the key at legacy to keyPath when keyPath does
// not exist yet, so the credentials sealed with it can still be opened once
// the key sits beside its database. It reports whether it moved the key;
// with no legacy key, or a key already at keyPath, it does nothing.
func AdoptLegacySecretKey(legacy, keyPath string) (bool, error) {
	if _, err := os.Stat(keyPath); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("stat %s: %w", keyPath, err)
	}
	fi, err := os.Stat(legacy)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", legacy, err)
	}
	if !fi.Mode().IsRegular() {
		return false, domain.Errorf(domain.Invalid, "%s is not a regular file", legacy)
	}
	legacyAbs, err := filepath.Abs(legacy)
	if err != nil {
		return false, err
	}
	keyAbs, err := filepath.Abs(keyPath)
	if err != nil {
		return false, err
	}
	if legacyAbs == keyAbs {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o750); err != nil {
		return false, fmt.Errorf("create %s: %w", filepath.Dir(keyPath), err)
	}
	if err := os.Rename(legacy, keyPath); err == nil {
		return true, nil
	}
	// Another file system: copy, then remove the old file.
	if err := copyKey(legacy, keyPath); err != nil {
		return false, err
	}
	if err := os.Remove(legacy); err != nil {
		return false, fmt.Errorf("remove %s after copying it to %s: %w", legacy, keyPath, err)
	}
	return true, nil
}

func copyKey(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("read %s: %w", from, err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		os.Remove(to)
		return fmt.Errorf("write %s: %w", to, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(to)
		return fmt.Errorf("write %s: %w", to, err)
	}
	return nil
}

// SecretKey returns the 32-byte key kept base64-encoded in the file at
// path, generating it there (mode 0600, its folder 0750) on first use: the
// embedded default's key for sealing credentials.
func SecretKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		enc := base64.StdEncoding.EncodeToString(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			// Another process made it first: use that one.
			return SecretKey(path)
		}
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		if _, err := f.WriteString(enc + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "%s is not base64", path)
	}
	return key, nil
}
