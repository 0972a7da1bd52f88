package authtoken

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"
)

// BenchmarkVerify measures one full verification on one core: parse,
// Ed25519 signature check and claims validation (the cache disabled, so
// every iteration does the cryptography).
func BenchmarkVerify(b *testing.B) {
	benchVerify(b, -1)
}

// BenchmarkVerifyCached is a token presented again: a cache hit, re-checked
// against expiry and the key set.
func BenchmarkVerifyCached(b *testing.B) {
	benchVerify(b, 0)
}

// BenchmarkVerifyParallel runs full verifications on every core; there is
// no shared lock on the path, so throughput scales with cores.
func BenchmarkVerifyParallel(b *testing.B) {
	k := newKey(b, "k1")
	v := NewStatic(map[string]ed25519.PublicKey{k.kid: k.pub}, Config{CacheSize: -1})
	tok := mint(b, k, grant(time.Now()))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchVerify(b *testing.B, cacheSize int) {
	k := newKey(b, "k1")
	v := NewStatic(map[string]ed25519.PublicKey{k.kid: k.pub}, Config{CacheSize: cacheSize})
	tok := mint(b, k, grant(time.Now()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
