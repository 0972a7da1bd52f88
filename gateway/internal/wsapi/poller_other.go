//go:build !linux

package wsapi

import (
	"errors"
	"log/slog"
	"syscall"
)

// poller exists only on Linux; elsewhere every connection keeps its own
// reader goroutine.
type poller struct{}

func newPoller(*slog.Logger) (*poller, error) { return nil, errors.New("no epoll on this system") }

func (*poller) add(*session, syscall.RawConn) error { return errors.New("no epoll on this system") }
func (*poller) remove(uint64)                       {}
func (*poller) close()                              {}
