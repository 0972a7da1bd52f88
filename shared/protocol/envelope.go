package protocol

// Version is the protocol version carried in every frame's "v" field.
const Version = 1

// Frame type names. Client→server types are verbs (requests); server→client
// types are nouns (replies and pushes). A name belongs to one direction only,
// so a frame's type alone says which struct decodes it.
const (
	// Client → server.
	TypeAuth     = "auth"
	TypeRefresh  = "refresh"
	TypeSend     = "send"
	TypeReceived = "received"
	TypeRead     = "read"
	TypeTyping   = "typing"
	TypeSync     = "sync"
	TypeHistory  = "history"
	TypePing     = "ping"

	// Server → client.
	TypeWelcome     = "welcome"
	TypeRefreshed   = "refreshed"
	TypeAck         = "ack"
	TypeMessage     = "message"
	TypeReceipt     = "receipt"
	TypeReadState   = "read_state"
	TypeTypingState = "typing_state"
	TypeSyncPage    = "sync_page"
	TypeHistoryPage = "history_page"
	TypePong        = "pong"
	TypeGoAway      = "goaway"
	TypeError       = "error"
)

// Header is the part of the envelope every frame shares. The frame type is
// not stored here: it is fixed by the Go type (Frame.FrameType).
type Header struct {
	// V is the protocol version; Decode fills it, Encode always writes Version.
	V int `json:"v,omitempty"`
	// ID is the request id chosen by the client. Every client frame carries
	// one; the server echoes it on the reply (and on an error about that
	// frame), and leaves it empty on pushes.
	ID string `json:"id,omitempty"`
}

// FrameHeader returns the header so callers can read or set the id through
// the Frame interface.
func (h *Header) FrameHeader() *Header { return h }

// Frame is any frame of the protocol. The unexported method seals the set:
// only this package's types encode themselves.
type Frame interface {
	FrameType() string
	FrameHeader() *Header
	// appendFields appends the payload as `,"key":value` pairs.
	appendFields(dst []byte) []byte
}

// ClientFrame is a frame a client sends; the gateway validates it before use.
type ClientFrame interface {
	Frame
	// Validate checks the frame against lim; a failure is an *errs.Error
	// with code invalid_argument or payload_too_large.
	Validate(lim Limits) error
}

// newClientFrame returns an empty frame for a client→server type, or nil.
func newClientFrame(typ string) ClientFrame {
	switch typ {
	case TypeAuth:
		return new(Auth)
	case TypeRefresh:
		return new(Refresh)
	case TypeSend:
		return new(Send)
	case TypeReceived:
		return new(Received)
	case TypeRead:
		return new(Read)
	case TypeTyping:
		return new(Typing)
	case TypeSync:
		return new(Sync)
	case TypeHistory:
		return new(History)
	case TypePing:
		return new(Ping)
	}
	return nil
}

// newServerFrame returns an empty frame for a server→client type, or nil.
func newServerFrame(typ string) Frame {
	switch typ {
	case TypeWelcome:
		return new(Welcome)
	case TypeRefreshed:
		return new(Refreshed)
	case TypeAck:
		return new(Ack)
	case TypeMessage:
		return new(MessagePush)
	case TypeReceipt:
		return new(Receipt)
	case TypeReadState:
		return new(ReadState)
	case TypeTypingState:
		return new(TypingState)
	case TypeSyncPage:
		return new(SyncPage)
	case TypeHistoryPage:
		return new(HistoryPage)
	case TypePong:
		return new(Pong)
	case TypeGoAway:
		return new(GoAway)
	case TypeError:
		return new(Error)
	}
	return nil
}
