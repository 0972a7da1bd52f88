// Package password hashes and verifies passwords with Argon2id, encoded in
// the PHC string format so the parameters travel with each hash:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<key, base64>
//
// Defaults follow the OWASP Password Storage Cheat Sheet's first Argon2id
// option (19 MiB, 2 passes, 1 lane). A semaphore bounds concurrent hashes, so
// a login flood queues instead of allocating 19 MiB per request.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams is OWASP's recommendation: m=19 MiB, t=2, p=1.
func DefaultParams() Params { return Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1} }

// Bounds on parameters read back from a stored hash, so a corrupt or hostile
// hash string cannot make one verification allocate gigabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	saltLen      = 16
	keyLen       = 32
)

// Validate checks p is usable.
func (p Params) Validate() error {
	if p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return fmt.Errorf("argon2 parameters out of range: m=%d KiB, t=%d, p=%d", p.MemoryKiB, p.Time, p.Threads)
	}
	return nil
}

// ErrMalformedHash is returned for a stored hash this package cannot read.
var ErrMalformedHash = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	params  Params
	sem     chan struct{}
	dummy   string
	observe func(op string, d time.Duration)
}

// NewHasher returns a hasher using params for new hashes, running at most
// maxConcurrent hashes at once (peak memory ≈ maxConcurrent × MemoryKiB).
// observe, if not nil, receives the duration of each hash ("hash" or "verify").
func NewHasher(params Params, maxConcurrent int, observe func(op string, d time.Duration)) (*Hasher, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if maxConcurrent < 1 {
		return nil, fmt.Errorf("password: max concurrent hashes must be at least 1")
	}
	if observe == nil {
		observe = func(string, time.Duration) {}
	}
	h := &Hasher{params: params, sem: make(chan struct{}, maxConcurrent), observe: observe}
	// The dummy hash has the current parameters, so verifying against it
	// costs what a real verification costs.
	h.dummy = h.encode(params, randomSalt(), "not a password")
	return h, nil
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the encoded hash of pw with fresh salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	start := time.Now()
	enc := h.encode(h.params, randomSalt(), pw)
	h.observe("hash", time.Since(start))
	return enc, nil
}

// Verify reports whether pw matches encoded. needsRehash is true when the
// hash used other parameters than the hasher's, so the caller may upgrade it.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	start := time.Now()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.observe("verify", time.Since(start))
	return subtle.ConstantTimeCompare(got, want) == 1, p != h.params, nil
}

// VerifyDummy does the work of a verification against a hash that matches
// nothing, so an unknown username costs as much time as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

func randomSalt() []byte {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	return salt
}

var b64 = base64.RawStdEncoding

func (h *Hasher) encode(p Params, salt []byte, pw string) string {
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil || p.Validate() != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
