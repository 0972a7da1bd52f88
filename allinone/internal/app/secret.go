package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// dataDirMode keeps the stores and the secret private to the user.
const dataDirMode = 0o700

// secretFile is the generated internal secret, inside the data directory.
const secretFile = "internal-secret"

// loadOrCreateSecret returns the internal secret kept in dir, creating it
// (32 random bytes, base64) on first start. Every service in this process
// and every later start share it, as separate processes would through
// CHAT_INTERNAL_SECRET.
func loadOrCreateSecret(dir string) (string, error) {
	if err := os.MkdirAll(dir, dataDirMode); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, secretFile)
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("internal secret: %w", err)
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("internal secret: %w", err)
	}
	return secret, nil
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
