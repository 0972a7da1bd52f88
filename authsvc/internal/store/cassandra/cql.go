package cassandra

// Every statement authsvc runs, as constants: the driver prepares each once
// and reuses it, and no value is ever spliced into CQL text.
const (
	cqlInsertAccount = `INSERT INTO accounts (user_id, username, display_name, password_hash, roles, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	cqlSelectAccount = `SELECT user_id, username, display_name, password_hash, roles, created_at, password_changed_at FROM accounts WHERE user_id = ?`
	cqlDeleteAccount = `DELETE FROM accounts WHERE user_id = ?`
	cqlSetPassword   = `UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE user_id = ?`
	cqlSetRoles      = `UPDATE accounts SET roles = ? WHERE user_id = ?`
	cqlClaimUsername = `INSERT INTO usernames (username, user_id) VALUES (?, ?) IF NOT EXISTS`
	cqlSelectOwner   = `SELECT user_id FROM usernames WHERE username = ?`

	cqlUpsertDevice   = `INSERT INTO devices (user_id, device_id, name, created_at, last_seen_at, session_id) VALUES (?, ?, ?, ?, ?, ?)`
	cqlSelectDevice   = `SELECT user_id, device_id, name, created_at, last_seen_at, session_id FROM devices WHERE user_id = ? AND device_id = ?`
	cqlSelectDevices  = `SELECT user_id, device_id, name, created_at, last_seen_at, session_id FROM devices WHERE user_id = ?`
	cqlDeviceSession  = `SELECT session_id FROM devices WHERE user_id = ? AND device_id = ?`
	cqlEndSession     = `UPDATE devices SET session_id = 0 WHERE user_id = ? AND device_id = ?`
	cqlTouchDevice    = `UPDATE devices SET last_seen_at = ? WHERE user_id = ? AND device_id = ?`
	cqlInsertRefresh  = `INSERT INTO refresh_tokens (token_hash, user_id, device_id, session_id, issued_at, expires_at, used) VALUES (?, ?, ?, ?, ?, ?, false) USING TTL ?`
	cqlSelectRefresh  = `SELECT user_id, device_id, session_id, issued_at, expires_at, used FROM refresh_tokens WHERE token_hash = ?`
	cqlDeleteRefresh  = `DELETE FROM refresh_tokens WHERE token_hash = ?`
	cqlMarkRefreshUse = `UPDATE refresh_tokens USING TTL ? SET used = true WHERE token_hash = ? IF used = false`

	cqlSelectKeys = `SELECT head, kid, private_key, created_at, activates_at FROM signing_keys WHERE scope = ?`
	cqlSetHead    = `UPDATE signing_keys SET head = ? WHERE scope = ? IF head = ?`
	cqlInsertKey  = `INSERT INTO signing_keys (scope, kid, private_key, created_at, activates_at) VALUES (?, ?, ?, ?, ?)`
	cqlDeleteKey  = `DELETE FROM signing_keys WHERE scope = ? AND kid = ?`
)
