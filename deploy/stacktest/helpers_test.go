package stacktest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// uniqueName returns prefix plus 12 random hex digits, so concurrent or repeated
// runs against the same long-lived stack never see each other's data.
func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}
