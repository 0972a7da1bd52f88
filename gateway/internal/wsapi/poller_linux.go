package wsapi

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller tells sessions when their socket has something to read, so that
// an idle connection costs no parked goroutine: one epoll instance per
// gateway, edge-triggered, keyed by connection id (never by descriptor,
// which the kernel reuses).
type poller struct {
	file   *os.File // the epoll descriptor
	raw    syscall.RawConn
	logger *slog.Logger

	mu       sync.RWMutex
	sessions map[uint64]*session
	closed   bool
}

func newPoller(logger *slog.Logger) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	// The epoll descriptor is itself pollable: handing it to Go's netpoller
	// parks the poller's goroutine like any network read, with no thread
	// blocked in epoll_wait and no hand-off of the scheduler on each wake.
	file := os.NewFile(uintptr(epfd), "parley-epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	p := &poller{file: file, raw: raw, logger: logger, sessions: map[uint64]*session{}}
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
		ctlErr = p.raw.Control(func(epfd uintptr) {
			ctlErr = unix.EpollCtl(int(epfd), unix.EPOLL_CTL_ADD, int(fd), &ev)
		})
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
	_ = p.file.Close() // wakes the loop
}

func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		var waitErr error
		err := p.raw.Read(func(epfd uintptr) bool {
			n, waitErr = unix.EpollWait(int(epfd), events, 0)
			// Nothing ready: park until the epoll descriptor is readable.
			return n > 0 || (waitErr != nil && !errors.Is(waitErr, unix.EINTR))
		})
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				p.logger.Error("poller stopped", slog.Any("err", err))
			}
			return
		}
		if waitErr != nil {
			p.logger.Error("epoll wait failed", slog.Any("err", waitErr))
			continue
		}
		p.mu.RLock()
		for i := 0; i < n; i++ {
			if ss := p.sessions[getID(&events[i])]; ss != nil {
				ss.readable()
			}
		}
		p.mu.RUnlock()
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
