package connectors

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/truecost/truecost/domain"
)

// Secret holds a connector's credentials by name: AWS role_arn, external_id,
// access_key_id, secret_access_key; Azure connection_string, sas_url,
// tenant_id, client_id, client_secret; GCP service_account_json; OCI
// private_key, passphrase. It is stored sealed and never returned.
type Secret map[string]string

// Sealer encrypts secrets at rest.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// AESSealer seals with AES-256-GCM; each sealed value is a random 12-byte
// nonce followed by the ciphertext and tag.
type AESSealer struct {
	aead cipher.AEAD
}

// NewAESSealer returns a sealer for a 32-byte key.
func NewAESSealer(key []byte) (*AESSealer, error) {
	if len(key) != 32 {
		return nil, domain.Errorf(domain.Invalid, "the secret key must be 32 bytes (base64 of 32 random bytes), got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return &AESSealer{aead: aead}, nil
}

// Seal encrypts plaintext.
func (s *AESSealer) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open decrypts what Seal produced; a wrong key or tampered value fails.
func (s *AESSealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret is too short")
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, domain.WrapError(domain.Internal, err, "cannot decrypt a stored secret: was TRUECOST_SECRET_KEY changed?")
	}
	return out, nil
}

// SealSecret encrypts sec as JSON; an empty secret seals to nil.
func SealSecret(s Sealer, sec Secret) ([]byte, error) {
	if len(sec) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	return s.Seal(b)
}

// OpenSecret decrypts what SealSecret produced; nil opens to an empty secret.
func OpenSecret(s Sealer, sealed []byte) (Secret, error) {
	if len(sealed) == 0 {
		return Secret{}, nil
	}
	b, err := s.Open(sealed)
	if err != nil {
		return nil, err
	}
	var sec Secret
	if err := json.Unmarshal(b, &sec); err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	return sec, nil
}

// MergeSecret returns old with the non-empty (trimmed) values of update laid
// over it, and whether update brought anything new: empty fields of a form
// or mutation keep the stored values.
func MergeSecret(old, update Secret) (Secret, bool) {
	merged := Secret{}
	for k, v := range old {
		merged[k] = v
	}
	fresh := false
	for k, v := range update {
		if v = strings.TrimSpace(v); v != "" && merged[k] != v {
			merged[k], fresh = v, true
		}
	}
	return merged, fresh
}
