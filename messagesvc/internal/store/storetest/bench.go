package storetest

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// BenchConversations is how many 1:1 conversations the benchmarks spread
// their sends over, so partitions and keys are realistic rather than one
// hot row.
const BenchConversations = 20000

// BenchOptions tune a benchmark run.
type BenchOptions struct {
	// Parallelism is goroutines per GOMAXPROCS (b.SetParallelism).
	Parallelism int
	// ServerCPU, if set, returns the CPU time a store server process has
	// used so far; the benchmark then also reports it per send.
	ServerCPU func() time.Duration
}

// BenchSend measures the store write set of one persisted 1:1 send, as the
// send use case issues it: ClaimSend, PutMessage, one Append of the two
// members' inbox entries, and TouchConversation for each member, one after
// another. It reports sends/s and CPU time per send of this process (user
// + system, from getrusage) and, with opts.ServerCPU, of the server.
func BenchSend(b *testing.B, st store.Store, opts BenchOptions) {
	bench(b, opts, func(ctx context.Context, gen *ids.Generator, p benchPair) error {
		m := message(p.conv, p.a, gen.Next())
		if err := claim(ctx, st, p.a, m); err != nil {
			return err
		}
		if err := st.PutMessage(ctx, m); err != nil {
			return err
		}
		entries := []entity.InboxEntry{
			{UserID: p.a, Seq: gen.Next(), Kind: entity.InboxMessage, Conversation: p.conv, MessageID: m.ID},
			{UserID: p.b, Seq: gen.Next(), Kind: entity.InboxMessage, Conversation: p.conv, MessageID: m.ID},
		}
		if err := st.Append(ctx, entries); err != nil {
			return err
		}
		for _, u := range []ids.ID{p.a, p.b} {
			if err := st.TouchConversation(ctx, u, p.conv, m.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchClaimSend measures ClaimSend alone, to show its share of a send.
func BenchClaimSend(b *testing.B, st store.Store, opts BenchOptions) {
	bench(b, opts, func(ctx context.Context, gen *ids.Generator, p benchPair) error {
		return claim(ctx, st, p.a, message(p.conv, p.a, gen.Next()))
	})
}

func claim(ctx context.Context, st store.Store, sender ids.ID, m entity.Message) error {
	owner, fresh, err := st.ClaimSend(ctx, sender, m.ClientMsgID, m.ID)
	if err == nil && (!fresh || owner != m.ID) {
		panic("storetest: a fresh client message id was not claimed fresh")
	}
	return err
}

type benchPair struct {
	conv protocol.ConversationID
	a, b ids.ID
}

func bench(b *testing.B, opts BenchOptions, send func(context.Context, *ids.Generator, benchPair) error) {
	gen := newSuite(nil).ids
	pairs := make([]benchPair, BenchConversations)
	for i := range pairs {
		x, y := gen.Next(), gen.Next()
		conv, err := protocol.DirectConversation(protocol.UserID(x), protocol.UserID(y))
		if err != nil {
			b.Fatal(err)
		}
		pairs[i] = benchPair{conv, x, y}
	}
	ctx := context.Background()
	var next atomic.Uint64
	b.SetParallelism(max(1, opts.Parallelism))
	b.ReportAllocs()
	serverCPU := opts.ServerCPU
	if serverCPU == nil {
		serverCPU = func() time.Duration { return 0 }
	}
	cpu0, server0, start := cpuTime(), serverCPU(), time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := send(ctx, gen, pairs[next.Add(1)%BenchConversations]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	elapsed, cpu, server := time.Since(start), cpuTime()-cpu0, serverCPU()-server0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/send")
	if opts.ServerCPU != nil {
		b.ReportMetric(float64(server.Microseconds())/float64(b.N), "server-cpu-µs/send")
	}
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
