package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

// sourceFactory opens the billing.Source of a connector: local folders by
// format, and each cloud's export through its adapter.
type sourceFactory struct{}

var _ connectors.SourceFactory = sourceFactory{}

func (sourceFactory) Source(ctx context.Context, c connectors.Connector, secret connectors.Secret) (billing.Source, error) {
	switch c.Provider {
	case connectors.Local:
		return localSource(ctx, c.Location, c.Format)
	default:
		return nil, domain.Errorf(domain.Unavailable, "%s connectors are not available in this build", c.Provider)
	}
}

// localSource reads a local file or folder in format, detecting the layout
// when format is auto.
func localSource(_ context.Context, path, format string) (billing.Source, error) {
	switch format {
	case "auto", "focus":
		return localfiles.New(path, format)
	}
	return nil, domain.Errorf(domain.Invalid, "format %q cannot be read from local files by this build", format)
}

// secretKeyFile is where the embedded default keeps its generated key.
const secretKeyFile = "var/secret.key"

// loadSealer returns the sealer for connector credentials: the key in
// TRUECOST_SECRET_KEY (base64 of 32 bytes), or with SQLite a key generated
// on first run into var/secret.key (mode 0600). Postgres deployments run
// several replicas, so they must set the variable; without it credentials
// cannot be stored and the sealer is nil.
func loadSealer(dialect string) (connectors.Sealer, error) {
	if v := strings.TrimSpace(os.Getenv("TRUECOST_SECRET_KEY")); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, domain.WrapError(domain.Invalid, err, "TRUECOST_SECRET_KEY is not base64")
		}
		return connectors.NewAESSealer(key)
	}
	if dialect != "sqlite" {
		return nil, nil
	}
	key, err := os.ReadFile(secretKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(secretKeyFile), 0o750); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(secretKeyFile), err)
		}
		enc := base64.StdEncoding.EncodeToString(key)
		if err := os.WriteFile(secretKeyFile, []byte(enc+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", secretKeyFile, err)
		}
		return connectors.NewAESSealer(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", secretKeyFile, err)
	}
	key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(key)))
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "%s is not base64", secretKeyFile)
	}
	return connectors.NewAESSealer(key)
}
