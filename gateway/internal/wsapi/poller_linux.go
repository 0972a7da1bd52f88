package wsapi

import (
	"errors"
	"log/slog"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller tells sessions when their socket has something to read, so that
// an idle connection costs no parked goroutine: one epoll instance per
// gateway, edge-triggered, keyed by connection id (never by descriptor,
// which the kernel reuses).
type poller struct {
	epfd   int
	logger *slog.Logger

	mu       sync.RWMutex
	sessions map[uint64]*session
	closed   bool
}

// pollWaitMs bounds one wait so that close is noticed without a wake-up
// descriptor; a wake-up a second costs nothing measurable.
const pollWaitMs = 1000

func newPoller(logger *slog.Logger) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: epfd, logger: logger, sessions: map[uint64]*session{}}
	go p.loop()
	return p, nil
}

// add watches raw for ss. Bytes already waiting raise an event at once.
func (p *poller) add(ss *session, raw syscall.RawConn) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("poller closed")
	}
	p.sessions[ss.c.ID] = ss
	p.mu.Unlock()
	var ctlErr error
	err := raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET}
		putID(&ev, ss.c.ID)
		ctlErr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		p.remove(ss.c.ID)
	}
	return err
}

// remove forgets a session whose socket is closed; closing the descriptor
// already took it out of the epoll set.
func (p *poller) remove(id uint64) {
	p.mu.Lock()
	delete(p.sessions, id)
	p.mu.Unlock()
}

func (p *poller) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, pollWaitMs)
		p.mu.RLock()
		closed := p.closed
		for i := 0; i < n; i++ {
			if ss := p.sessions[getID(&events[i])]; ss != nil {
				ss.readable()
			}
		}
		p.mu.RUnlock()
		if closed {
			_ = unix.Close(p.epfd)
			return
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			p.logger.Error("epoll wait failed; connections keep their state but wait for the next event", slog.Any("err", err))
		}
	}
}

// putID and getID keep a connection id in the event's 64 data bits.
func putID(ev *unix.EpollEvent, id uint64) {
	ev.Fd = int32(uint32(id))
	ev.Pad = int32(uint32(id >> 32))
}

func getID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
