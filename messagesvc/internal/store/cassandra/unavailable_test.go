package cassandra_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store/cassandra"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

func TestConnectToUnreachableClusterIsUnavailable(t *testing.T) {
	start := time.Now()
	_, err := cassandra.Connect(cassandra.NewCluster([]string{"127.0.0.1:1"}, "datacenter1", "", 300*time.Millisecond))
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Connect to 127.0.0.1:1 = %v; want a retryable unavailable error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Connect took %v to fail", d)
	}
}

// TestStoreFailsRetryablyWhenCassandraGoesAway runs a store through a TCP
// proxy, then makes the proxy drop all traffic (a partition: requests time
// out) and finally refuse connections (Cassandra down). Every call must come
// back within its deadline with a retryable error, and none may hang.
func TestStoreFailsRetryablyWhenCassandraGoesAway(t *testing.T) {
	st, ks := freshKeyspace(t)
	p := startProxy(t, st.hosts[0])
	cluster := cassandra.NewCluster([]string{p.addr()}, st.dc, "", 300*time.Millisecond)
	// Whatever address the node advertises, talk to it through the proxy.
	cluster.AddressTranslator = gocql.AddressTranslatorFunc(func(net.IP, int) (net.IP, int) {
		return net.IPv4(127, 0, 0, 1), p.port()
	})
	cluster.ReconnectInterval = 100 * time.Millisecond
	session, err := cassandra.Connect(cluster)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cassandra.New(session, ks)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	gen, _ := ids.NewGenerator(1)
	conv := protocol.GroupConversation(protocol.GroupID(gen.Next()))
	calls := map[string]func(context.Context) error{
		"PutMessage": func(ctx context.Context) error {
			return s.PutMessage(ctx, entity.Message{ID: gen.Next(), Conversation: conv, SenderID: 1, Kind: protocol.KindUser, Body: "x"})
		},
		"ClaimSend": func(ctx context.Context) error {
			_, _, err := s.ClaimSend(ctx, 1, "client-"+gen.Next().String(), gen.Next())
			return err
		},
		"History": func(ctx context.Context) error { _, _, err := s.History(ctx, conv, 0, 0, 10); return err },
		"ReadAfter": func(ctx context.Context) error {
			_, _, err := s.ReadAfter(ctx, 1, 0, 10)
			return err
		},
		"AdvanceRead": func(ctx context.Context) error {
			_, _, err := s.AdvanceRead(ctx, 1, conv, gen.Next(), time.Now())
			return err
		},
	}
	run := func(phase string, wantOK bool) {
		for name, call := range calls {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			start := time.Now()
			err := call(ctx)
			t.Logf("%s %s: %v after %v", phase, name, err, time.Since(start))
			cancel()
			switch {
			case time.Since(start) > 4*time.Second:
				t.Errorf("%s %s: took %v", phase, name, time.Since(start))
			case wantOK && err != nil:
				t.Errorf("%s %s: %v", phase, name, err)
			case !wantOK && !errs.CodeOf(err).Retryable():
				t.Errorf("%s %s = %v (code %q); want a retryable error", phase, name, err, errs.CodeOf(err))
			}
		}
	}
	run("healthy", true)
	p.setBlackhole(true)
	run("partitioned", false)
	p.shutdown()
	run("down", false)
}

// proxy forwards TCP connections to target; it can drop all traffic
// (blackhole) or close everything and refuse new connections (shutdown).
type proxy struct {
	ln        net.Listener
	target    string
	blackhole atomic.Bool
	mu        sync.Mutex
	conns     []net.Conn
	wg        sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: []net.Conn{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.shutdown)
	return p
}

func (p *proxy) addr() string        { return p.ln.Addr().String() }
func (p *proxy) port() int           { return p.ln.Addr().(*net.TCPAddr).Port }
func (p *proxy) setBlackhole(v bool) { p.blackhole.Store(v) }
func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // shut down
	}
	p.conns = append(p.conns, cs...)
	return true
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(in, out) {
			in.Close()
			if out != nil {
				out.Close()
			}
			continue
		}
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

// pipe copies src to dst, discarding what it reads while blackholed.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.blackhole.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *proxy) shutdown() {
	p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}
