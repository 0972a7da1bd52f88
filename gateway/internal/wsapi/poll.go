package wsapi

import (
	"time"
)

// Dispatch states of a session the poller watches.
const (
	// sessionIdle: nobody reads; the poller starts a dispatcher on the
	// next event.
	sessionIdle int32 = iota
	// sessionBusy: a dispatcher is reading.
	sessionBusy
	// sessionBusyAgain: a dispatcher is reading and the socket became
	// readable again meanwhile, so it must look once more before idling.
	sessionBusyAgain
)

// readable is the poller's event for this session. It runs on the poller's
// goroutine, so it only starts a dispatcher or tells the running one.
func (ss *session) readable() {
	for {
		switch ss.state.Load() {
		case sessionIdle:
			if ss.state.CompareAndSwap(sessionIdle, sessionBusy) {
				if !ss.serveInline() {
					go ss.dispatch()
				}
				return
			}
		case sessionBusy:
			if ss.state.CompareAndSwap(sessionBusy, sessionBusyAgain) {
				return
			}
		default:
			return
		}
	}
}

// serveInline serves the common idle event, a client's pong, right on the
// poller's goroutine: one read without waiting, pongs noted, session idle
// again — no goroutine started. Anything else (a frame, a ping to answer,
// a closed socket, more to read) is left in the gate for a dispatcher:
// false, and the session stays busy.
func (ss *session) serveInline() bool {
	more, err := ss.gate.readNow()
	if err != nil && err != errWouldBlock || more {
		return false
	}
	if ss.gate.takePongs() > 0 {
		ss.c.TouchRead(time.Now())
	}
	if !ss.gate.idle() {
		return false
	}
	if ss.state.CompareAndSwap(sessionBusy, sessionIdle) {
		return true
	}
	return false // an event came meanwhile: a dispatcher looks again
}

// dispatch handles everything the socket holds, then leaves the session
// idle: the connection then costs no goroutine until its next frame. Its
// goroutine is short-lived, so the deep stacks of decoding, verification
// and upstream calls are freed with it.
func (ss *session) dispatch() {
	for {
		if !ss.drainSocket() {
			return // the connection is over; events for it are ignored
		}
		if ss.state.CompareAndSwap(sessionBusy, sessionIdle) {
			return
		}
		ss.state.Store(sessionBusy) // an event came meanwhile: look again
	}
}

// drainSocket reads and handles what the socket holds until it holds no
// more; false once the connection is over.
func (ss *session) drainSocket() bool {
	for {
		more, readErr := ss.gate.readNow()
		if !ss.handleBuffered() {
			return false
		}
		switch {
		case readErr == errWouldBlock:
			return true
		case readErr != nil:
			ss.noteReadError(readErr)
			return false
		case !more:
			return true
		}
	}
}

// handleBuffered handles every complete frame the gate holds: keep-alives
// itself, everything else through gorilla; false once the connection is
// over.
func (ss *session) handleBuffered() bool {
	for {
		f, ok, wait := ss.gate.takeKeepAlive()
		if wait {
			return true
		}
		if ok {
			if f.opcode == opPong {
				ss.c.TouchRead(time.Now())
				continue
			}
			if err := ss.pong(f.payload); err != nil {
				ss.noteReadError(err)
				return false
			}
			continue
		}
		if !ss.gate.hasFrameHeader() {
			return true
		}
		// A whole header is here; gorilla reads the frame, waiting for
		// the rest of its payload if it is still on its way.
		kind, data, err := ss.c.WS().ReadMessage()
		if err != nil {
			ss.noteReadError(err)
			return false
		}
		ss.process(kind, data)
	}
}
