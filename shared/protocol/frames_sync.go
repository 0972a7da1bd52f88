package protocol

// Sync asks for what this device missed: inbox events after Cursor, oldest
// first. An empty cursor means the device's cursor as stored by the server.
// The reply is SyncPage; the client repeats Sync with the page's cursor
// while More is true. Live pushes start after the first page with More false.
type Sync struct {
	Header
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

func (*Sync) FrameType() string { return TypeSync }

func (f *Sync) appendFields(dst []byte) []byte {
	dst = optStringField(dst, "cursor", f.Cursor)
	return optIntField(dst, "limit", f.Limit)
}

func (f *Sync) Validate(lim Limits) error {
	c := newChecker(f, lim)
	c.token("cursor", "max_cursor_bytes", f.Cursor, lim.MaxCursorBytes)
	c.pageSize(f.Limit)
	return c.result()
}

// SyncPage answers Sync with up to limit messages (in inbox order) and the
// receipt and read-state changes logged in the same range, which are
// idempotent: apply them by union (message ids) and maximum (watermarks).
// Elements of Receipts and ReadStates carry the push fields without v/id/type.
type SyncPage struct {
	Header
	Messages   []Message   `json:"messages,omitempty"`
	Receipts   []Receipt   `json:"receipts,omitempty"`
	ReadStates []ReadState `json:"read_states,omitempty"`
	// Cursor is the position after this page: send it with the next Sync,
	// and store it once the page is stored.
	Cursor string `json:"cursor"`
	More   bool   `json:"more"`
}

func (*SyncPage) FrameType() string { return TypeSyncPage }

func (f *SyncPage) appendFields(dst []byte) []byte {
	dst = objectsField(dst, "messages", f.Messages)
	dst = objectsField(dst, "receipts", f.Receipts)
	dst = objectsField(dst, "read_states", f.ReadStates)
	dst = stringField(dst, "cursor", f.Cursor)
	return boolField(dst, "more", f.More)
}
