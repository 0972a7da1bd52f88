package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory counts in process memory. Windows that ended are swept as the map
// grows, so memory stays proportional to the keys seen within one window.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	windows   map[string]*window
	nextSweep int
}

type window struct {
	count int
	ends  time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-process limiter; now is the clock (time.Now if nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, windows: map[string]*window{}, nextSweep: 1024}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Decision, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || !now.Before(w.ends) {
		w = &window{ends: now.Add(l.Window)}
		m.windows[key] = w
		if len(m.windows) >= m.nextSweep {
			m.sweep(now)
		}
	}
	w.count++
	return decide(w.count, w.ends.Sub(now), l), nil
}

// sweep drops ended windows; m.mu is held.
func (m *Memory) sweep(now time.Time) {
	for k, w := range m.windows {
		if !now.Before(w.ends) {
			delete(m.windows, k)
		}
	}
	m.nextSweep = max(1024, 2*len(m.windows))
}

// Len returns the number of windows held, for tests.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.windows)
}
