package wsapi

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
)

// frameGate sits between a client socket and gorilla's reader so that an
// idle connection needs no goroutine parked in a read (see poller):
//
//   - it hands gorilla at most the rest of the frame gorilla is reading, so
//     gorilla's own buffer is empty between messages and every byte not yet
//     handled is in the gate, where the poller's dispatcher can see it;
//   - it reads the socket without waiting (readNow) when the poller says
//     the socket is readable, and answers keep-alive pings and pongs
//     itself, so gorilla is only called when a whole frame header of a
//     data or close frame is there and never blocks waiting for the next
//     message.
//
// Writes and everything else pass straight through to the socket.
type frameGate struct {
	net.Conn
	raw syscall.RawConn

	// buf[off:] are bytes read from the socket and not yet handed out; buf
	// is lent by gateBuffers while it holds something.
	buf []byte
	off int
	// frameLeft is how many bytes of the frame gorilla is reading it has
	// not been given yet; 0 at a frame boundary.
	frameLeft int64
}

// gateBufferSize is one socket read: a few client frames.
const gateBufferSize = 4096

var gateBuffers = sync.Pool{New: func() any { b := make([]byte, 0, gateBufferSize); return &b }}

// errWouldBlock says the socket has nothing to read right now.
var errWouldBlock = errors.New("would block")

func newFrameGate(c net.Conn, raw syscall.RawConn) *frameGate { return &frameGate{Conn: c, raw: raw} }

// NetConn returns the socket behind the gate.
func (g *frameGate) NetConn() net.Conn { return g.Conn }

// pending returns the buffered bytes not yet handed out.
func (g *frameGate) pending() []byte { return g.buf[g.off:] }

// Read implements net.Conn for gorilla; it may wait for the socket, but
// never gives out bytes past the end of the current frame.
func (g *frameGate) Read(p []byte) (int, error) {
	if g.frameLeft == 0 {
		size, err := g.waitHeader()
		if err != nil {
			return 0, err
		}
		g.frameLeft = size
	}
	if int64(len(p)) > g.frameLeft {
		p = p[:g.frameLeft]
	}
	var n int
	var err error
	if len(g.pending()) > 0 {
		n = copy(p, g.pending())
		g.off += n
		g.release()
	} else {
		n, err = g.Conn.Read(p)
	}
	g.frameLeft -= int64(n)
	return n, err
}

// waitHeader reads until the next frame's header is buffered and returns
// the frame's whole size.
func (g *frameGate) waitHeader() (int64, error) {
	for {
		if size, ok := frameSize(g.pending()); ok {
			return size, nil
		}
		g.compact()
		n, err := g.Conn.Read(g.buf[len(g.buf):cap(g.buf)])
		g.buf = g.buf[:len(g.buf)+n]
		if err != nil && n == 0 {
			g.release()
			return 0, err
		}
	}
}

// readNow reads what the socket holds without waiting. more says the read
// filled the buffer, so the socket may hold more; a shorter read emptied
// it, and data arriving later raises a new poller event, so no second read
// is needed to learn that the socket would block. err is errWouldBlock
// when the socket held nothing, io.EOF when the peer closed.
func (g *frameGate) readNow() (more bool, err error) {
	g.compact()
	space := cap(g.buf) - len(g.buf)
	var n int
	var rerr error
	if cerr := g.raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), g.buf[len(g.buf):cap(g.buf)])
		return true // never wait: the poller says when to come back
	}); cerr != nil {
		rerr = cerr
	}
	switch {
	case errors.Is(rerr, syscall.EAGAIN):
		rerr = errWouldBlock
	case rerr == nil && n == 0:
		rerr = io.EOF
	}
	if n > 0 {
		g.buf = g.buf[:len(g.buf)+n]
	}
	g.release()
	return rerr == nil && n == space, rerr
}

// compact makes room at the end of buf, borrowing a buffer if none is held.
func (g *frameGate) compact() {
	if g.buf == nil {
		g.buf = (*gateBuffers.Get().(*[]byte))[:0]
		g.off = 0
		return
	}
	if g.off > 0 {
		n := copy(g.buf, g.pending())
		g.buf, g.off = g.buf[:n], 0
	}
	if len(g.buf) == cap(g.buf) {
		// A header never exceeds 14 bytes, so this only happens when
		// a frame's payload fills the buffer: grow for the rest.
		g.buf = append(g.buf, make([]byte, len(g.buf))...)[:len(g.buf)]
	}
}

// release returns an emptied buffer to the pool: an idle connection holds
// none.
func (g *frameGate) release() {
	if g.buf != nil && g.off == len(g.buf) {
		if cap(g.buf) == gateBufferSize {
			b := g.buf[:0]
			gateBuffers.Put(&b)
		}
		g.buf, g.off = nil, 0
	}
}

// WebSocket opcodes the gate answers itself.
const (
	opPing = 0x9
	opPong = 0xA
)

// controlFrame is a complete keep-alive frame at the head of the buffer.
type controlFrame struct {
	opcode  byte
	payload []byte // unmasked
}

// keepAliveAtHead looks at the head of the buffer: a complete, well-formed
// client ping or pong of size bytes (ok), or the start of one whose rest is
// still on its way (wait). Anything else (data, close, a fragment, a
// malformed or unmasked frame) is neither: gorilla knows how to answer it.
func (g *frameGate) keepAliveAtHead() (size int, ok, wait bool) {
	b := g.pending()
	if len(b) == 0 || g.frameLeft != 0 {
		return 0, false, false
	}
	opcode := b[0] & 0x0F
	if opcode != opPing && opcode != opPong {
		return 0, false, false
	}
	if len(b) < 6 {
		return 0, false, true
	}
	fin, rsv := b[0]&0x80 != 0, b[0]&0x70
	masked, length := b[1]&0x80 != 0, int(b[1]&0x7F)
	if !fin || rsv != 0 || !masked || length > 125 {
		return 0, false, false
	}
	size = 6 + length
	if len(b) < size {
		return 0, false, true
	}
	return size, true, false
}

// takeKeepAlive removes and returns a complete client ping or pong at the
// head of the buffer. wait says the head is the start of one whose rest is
// still on its way: come back on the next event rather than have gorilla
// wait for it (gorilla would go on waiting for a data message after it).
func (g *frameGate) takeKeepAlive() (f controlFrame, ok, wait bool) {
	size, ok, wait := g.keepAliveAtHead()
	if !ok {
		return controlFrame{}, false, wait
	}
	b := g.pending()
	payload := make([]byte, size-6)
	key := b[2:6]
	for i := range payload {
		payload[i] = b[6+i] ^ key[i%4]
	}
	f = controlFrame{opcode: b[0] & 0x0F, payload: payload}
	g.off += size
	g.release()
	return f, true, false
}

// takePongs removes the complete client pongs at the head of the buffer and
// returns how many there were.
func (g *frameGate) takePongs() int {
	n := 0
	for {
		b := g.pending()
		if len(b) == 0 || b[0]&0x0F != opPong {
			return n
		}
		size, ok, _ := g.keepAliveAtHead()
		if !ok {
			return n
		}
		g.off += size
		g.release()
		n++
	}
}

// idle reports whether nothing but the start of a keep-alive frame waits
// in the buffer: nothing to hand to gorilla until more arrives.
func (g *frameGate) idle() bool {
	if len(g.pending()) == 0 {
		return true
	}
	_, ok, wait := g.keepAliveAtHead()
	return !ok && wait
}

// frameSize returns the whole size (header, mask key, payload) of the frame
// starting at b, once its header is complete.
func frameSize(b []byte) (int64, bool) {
	if len(b) < 2 {
		return 0, false
	}
	header := int64(2)
	if b[1]&0x80 != 0 {
		header += 4
	}
	length := int64(b[1] & 0x7F)
	switch length {
	case 126:
		header += 2
		if int64(len(b)) < header {
			return 0, false
		}
		length = int64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		header += 8
		if int64(len(b)) < header {
			return 0, false
		}
		// A length with the top bit set is invalid; gorilla rejects it
		// from the header it is given, so any positive size will do.
		length = int64(binary.BigEndian.Uint64(b[2:10]) & (1<<62 - 1))
	}
	if int64(len(b)) < header {
		return 0, false
	}
	return header + length, true
}

// hasFrameHeader reports whether a whole frame header is buffered, so
// gorilla can start on it without waiting for the socket.
func (g *frameGate) hasFrameHeader() bool {
	_, ok := frameSize(g.pending())
	return ok
}
