package embedded_test

import (
	"testing"

	"github.com/parleychat/parley/messagesvc/internal/store/storetest"
)

// BenchmarkSend1to1 is the store write set of one persisted 1:1 send
// (storetest.BenchSend) on a fresh file, with 1 and 32 senders per CPU (GOMAXPROCS).
func BenchmarkSend1to1(b *testing.B) {
	for _, p := range []struct {
		name string
		n    int
	}{{"p1", 1}, {"p32", 32}} {
		b.Run(p.name, func(b *testing.B) {
			storetest.BenchSend(b, open(b, b.TempDir()), storetest.BenchOptions{Parallelism: p.n})
		})
	}
}
