package ids

import (
	"encoding/json"
	"sync"
	"testing"
	"time"
)

func TestNextIsStrictlyIncreasingAndCarriesNodeAndTime(t *testing.T) {
	g, err := NewGenerator(513)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Millisecond)
	prev := g.Next()
	for i := 0; i < 100_000; i++ {
		id := g.Next()
		if id <= prev {
			t.Fatalf("id %d not above previous %d", id, prev)
		}
		prev = id
	}
	if prev.Node() != 513 {
		t.Fatalf("node = %d, want 513", prev.Node())
	}
	if got := prev.Time(); got.Before(before.Truncate(time.Millisecond)) || got.After(time.Now().Add(time.Second)) {
		t.Fatalf("time %v not near now", got)
	}
}

func TestNextStaysMonotonicWhenClockGoesBackwards(t *testing.T) {
	g, _ := NewGenerator(1)
	clock := int64(1_000_000)
	g.now = func() int64 { return clock }
	a := g.Next()
	clock -= 5000
	b := g.Next()
	if b <= a {
		t.Fatalf("after clock step back: %d <= %d", b, a)
	}
}

func TestNextBorrowsNextMillisecondWhenSequenceIsExhausted(t *testing.T) {
	g, _ := NewGenerator(1)
	g.now = func() int64 { return 42 }
	seen := map[ID]bool{}
	var prev ID
	for i := 0; i < 3*4096; i++ {
		id := g.Next()
		if seen[id] || id <= prev {
			t.Fatalf("duplicate or unordered id at %d", i)
		}
		seen[id] = true
		prev = id
	}
	if ms := int64(prev) >> timestampShift; ms != 44 {
		t.Fatalf("last id's ms = %d, want 44 after borrowing two milliseconds", ms)
	}
}

func TestConcurrentNextNeverDuplicates(t *testing.T) {
	g, _ := NewGenerator(7)
	const workers, per = 8, 20_000
	out := make([][]ID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]ID, per)
			for i := range ids {
				ids[i] = g.Next()
			}
			out[w] = ids
		}()
	}
	wg.Wait()
	seen := make(map[ID]bool, workers*per)
	for _, ids := range out {
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %d", id)
			}
			seen[id] = true
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("per-goroutine order broken")
			}
		}
	}
}

func TestNewGeneratorRejectsOutOfRangeNode(t *testing.T) {
	for _, n := range []int{-1, MaxNode + 1} {
		if _, err := NewGenerator(n); err == nil {
			t.Errorf("node %d accepted", n)
		}
	}
}

func TestJSONIsDecimalStringAndRoundTrips(t *testing.T) {
	id := ID(1234567890123456789)
	b, err := json.Marshal(struct{ ID ID }{id})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ID":"1234567890123456789"}` {
		t.Fatalf("json = %s", b)
	}
	var back struct{ ID ID }
	if err := json.Unmarshal(b, &back); err != nil || back.ID != id {
		t.Fatalf("round trip = %v, %v", back.ID, err)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	for _, s := range []string{"", "0", "-5", "12a", "99999999999999999999", " 1"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func TestFromTimeOrdersWithGeneratedIDs(t *testing.T) {
	g, _ := NewGenerator(MaxNode)
	id := g.Next()
	if lo := FromTime(id.Time()); lo > id || FromTime(id.Time().Add(time.Millisecond)) <= id {
		t.Fatalf("FromTime bounds wrong around %d", id)
	}
}

func BenchmarkNext(b *testing.B) {
	g, _ := NewGenerator(1)
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}

func BenchmarkNextParallel(b *testing.B) {
	g, _ := NewGenerator(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Next()
		}
	})
}
