package wsapi

import (
	"bufio"
	"net"
	"net/http"
	"syscall"
)

// gatedWriter hands gorilla the hijacked socket behind a frameGate, so the
// poller can watch it. A socket without a descriptor (TLS, a test pipe)
// is handed over as it is and gets a reader goroutine.
type gatedWriter struct {
	http.ResponseWriter
	off  bool // hand the socket over as it is
	gate *frameGate
}

// Hijack implements http.Hijacker for gorilla's upgrader.
func (w *gatedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	sc, ok := c.(syscall.Conn)
	if !ok || w.off {
		return c, brw, nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c, brw, nil
	}
	w.gate = newFrameGate(c, raw)
	return w.gate, brw, nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *gatedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
