package localfiles

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/truecost/truecost/domain"
)

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
		if err := os.WriteFile(path, []byte(enc+"\n"), 0o600); err != nil {
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
