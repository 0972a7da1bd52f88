package http_test

import (
	"testing"

	"github.com/parleychat/parley/authsvc/internal/password"
)

// BenchmarkSignIn is one whole sign-in over HTTP (service-token check, JSON,
// Argon2id verification at the default parameters, embedded-store write of
// the device and refresh token, Ed25519 signing). Argon2id dominates it.
func BenchmarkSignIn(b *testing.B) {
	e := newEnv(b, withParams(password.DefaultParams()), withLimits(1<<30, 1<<30))
	e.register("bench")
	b.ResetTimer()
	for b.Loop() {
		if _, r := e.signIn("bench", goodPass, nil); r.status != 200 {
			b.Fatalf("sign-in = %d %s", r.status, r.raw)
		}
	}
}

// BenchmarkSignInParallel is sign-in throughput with every core busy; the
// hashing semaphore (4 in the harness) bounds memory, not speed, here.
func BenchmarkSignInParallel(b *testing.B) {
	e := newEnv(b, withParams(password.DefaultParams()), withLimits(1<<30, 1<<30))
	e.register("bench")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, r := e.signIn("bench", goodPass, nil); r.status != 200 {
				b.Errorf("sign-in = %d", r.status)
				return
			}
		}
	})
}
