package cassandra

// Every statement groupsvc runs, as constants: the driver prepares each once
// and reuses it, and no value is ever spliced into CQL text. Every partition
// key is a bind marker, so routing is token-aware.
const (

	// The condition of every group change: `IF version = ?` (null for a
	// group that must not exist yet).
	cqlChangeGroup = `UPDATE groups SET name = ?, topic = ?, avatar = ?, size_limit = ?, member_count = ?, version = ?, created_at = ?, created_by = ?, deleted = ?, outbox = outbox + ? WHERE group_id = ? IF version = ?`
	cqlPutMember   = `INSERT INTO groups (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)`
	cqlDelMember   = `DELETE FROM groups WHERE group_id = ? AND user_id = ?`

	cqlSelectGroup   = `SELECT name, topic, avatar, size_limit, member_count, version, created_at, created_by, deleted FROM groups WHERE group_id = ? LIMIT 1`
	cqlSelectMember  = `SELECT role, joined_at FROM groups WHERE group_id = ? AND user_id = ?`
	cqlSelectMembers = `SELECT user_id, role, joined_at FROM groups WHERE group_id = ? AND user_id > ? LIMIT ?`
	cqlSelectRoster  = `SELECT user_id, role, joined_at FROM groups WHERE group_id = ? AND user_id > ?`
	cqlPurgeMembers  = `DELETE FROM groups WHERE group_id = ? AND user_id > ?`
	cqlSerialState   = `SELECT version, outbox FROM groups WHERE group_id = ? LIMIT 1`
	cqlSelectOutbox  = `SELECT outbox FROM groups WHERE group_id = ? LIMIT 1`
	cqlAckEvent      = `UPDATE groups SET outbox = outbox - ? WHERE group_id = ? IF EXISTS`

	cqlPutMembership     = `INSERT INTO memberships (user_id, group_id, role, joined_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`
	cqlDelMembership     = `DELETE FROM memberships USING TIMESTAMP ? WHERE user_id = ? AND group_id = ?`
	cqlSelectMemberships = `SELECT group_id, role, joined_at FROM memberships WHERE user_id = ? AND group_id > ? LIMIT ?`
	cqlSelectAllGroups   = `SELECT group_id, role, joined_at FROM memberships WHERE user_id = ? AND group_id > ?`

	cqlIndexPending  = `INSERT INTO outbox_index (shard, group_id) VALUES (?, ?)`
	cqlUnindex       = `DELETE FROM outbox_index WHERE shard = ? AND group_id = ?`
	cqlSelectPending = `SELECT group_id FROM outbox_index WHERE shard = ?`

	cqlSelectLimits = `SELECT default_limit, ceiling, version FROM platform_limits WHERE scope = ? LIMIT 1`
	cqlSetLimits    = `UPDATE platform_limits SET default_limit = ?, ceiling = ?, version = ? WHERE scope = ? IF version = ?`
	cqlInsertAudit  = `INSERT INTO platform_limits (scope, entry_id, actor, field, old_value, new_value, at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	cqlSelectAudit  = `SELECT entry_id, actor, field, old_value, new_value, at FROM platform_limits WHERE scope = ? AND entry_id < ? LIMIT ?`
)
