package cassandra

import "strings"

// Every statement the store runs. Tables are named {keyspace}.table and
// newStatements fills in the keyspace once, so each statement's text is
// constant for the life of a store: the driver prepares it once, and no
// value is ever spliced into CQL.
const (
	cqlPing = `SELECT release_version FROM system.local`

	cqlClaimSend = `INSERT INTO {keyspace}.send_dedup (sender_id, client_msg_id, message_id) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`

	messageColumns    = `message_id, sender_id, sender_device, client_msg_id, kind, body, attachments, system_user_ids, system_name, attachment_info`
	cqlInsertMessage  = `INSERT INTO {keyspace}.messages (conversation_id, bucket, ` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	cqlSelectMessages = `SELECT ` + messageColumns + ` FROM {keyspace}.messages WHERE conversation_id = ? AND bucket = ? AND message_id IN ?`
	cqlHistoryBefore  = `SELECT ` + messageColumns + ` FROM {keyspace}.messages WHERE conversation_id = ? AND bucket = ? AND message_id < ? LIMIT ?`
	cqlHistoryAfter   = `SELECT ` + messageColumns + ` FROM {keyspace}.messages WHERE conversation_id = ? AND bucket = ? AND message_id > ? ORDER BY message_id ASC LIMIT ?`

	cqlSelectBounds  = `SELECT first_bucket, last_bucket FROM {keyspace}.conversation_bounds WHERE conversation_id = ?`
	cqlSetFirstBound = `UPDATE {keyspace}.conversation_bounds USING TIMESTAMP ? SET first_bucket = ? WHERE conversation_id = ?`
	cqlSetLastBound  = `UPDATE {keyspace}.conversation_bounds USING TIMESTAMP ? SET last_bucket = ? WHERE conversation_id = ?`

	cqlInsertInbox = `INSERT INTO {keyspace}.inbox (user_id, day, seq, kind, conversation_id, message_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?`
	cqlReadInbox   = `SELECT seq, kind, conversation_id, message_id, payload FROM {keyspace}.inbox WHERE user_id = ? AND day = ? AND seq > ? LIMIT ?`

	cqlSelectCursor = `SELECT seq FROM {keyspace}.device_cursors WHERE user_id = ? AND device_id = ?`
	cqlSetCursor    = `INSERT INTO {keyspace}.device_cursors (user_id, device_id, seq) VALUES (?, ?, ?) USING TIMESTAMP ?`

	cqlSelectWatermark = `SELECT up_to, read_at FROM {keyspace}.read_watermarks WHERE user_id = ? AND conversation_id = ?`
	cqlSetWatermark    = `INSERT INTO {keyspace}.read_watermarks (user_id, conversation_id, up_to, read_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`

	cqlSelectReceived = `SELECT message_id, received_at FROM {keyspace}.receipts WHERE conversation_id = ? AND bucket = ? AND message_id IN ? AND user_id = ?`
	cqlInsertReceived = `INSERT INTO {keyspace}.receipts (conversation_id, bucket, message_id, user_id, received_at) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`
	cqlSelectReceipts = `SELECT message_id, user_id, received_at FROM {keyspace}.receipts WHERE conversation_id = ? AND bucket = ? AND message_id IN ?`

	cqlTouchConversation   = `INSERT INTO {keyspace}.user_conversations (user_id, conversation_id, last_message_id) VALUES (?, ?, ?) USING TIMESTAMP ?`
	cqlSelectConversations = `SELECT conversation_id, last_message_id FROM {keyspace}.user_conversations WHERE user_id = ?`
)

// statements are the store's CQL with its keyspace filled in.
type statements struct {
	claimSend                                                  string
	insertMessage, selectMessages, historyBefore, historyAfter string
	selectBounds, setFirstBound, setLastBound                  string
	insertInbox, readInbox                                     string
	selectCursor, setCursor                                    string
	selectWatermark, setWatermark                              string
	selectReceived, insertReceived, selectReceipts             string
	touchConversation, selectConversations                     string
}

func newStatements(keyspace string) statements {
	in := func(stmt string) string { return strings.ReplaceAll(stmt, "{keyspace}", keyspace) }
	return statements{
		claimSend:     in(cqlClaimSend),
		insertMessage: in(cqlInsertMessage), selectMessages: in(cqlSelectMessages),
		historyBefore: in(cqlHistoryBefore), historyAfter: in(cqlHistoryAfter),
		selectBounds: in(cqlSelectBounds), setFirstBound: in(cqlSetFirstBound), setLastBound: in(cqlSetLastBound),
		insertInbox: in(cqlInsertInbox), readInbox: in(cqlReadInbox),
		selectCursor: in(cqlSelectCursor), setCursor: in(cqlSetCursor),
		selectWatermark: in(cqlSelectWatermark), setWatermark: in(cqlSetWatermark),
		selectReceived: in(cqlSelectReceived), insertReceived: in(cqlInsertReceived), selectReceipts: in(cqlSelectReceipts),
		touchConversation: in(cqlTouchConversation), selectConversations: in(cqlSelectConversations),
	}
}
