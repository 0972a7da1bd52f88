package cassandra

// Every statement mediasvc runs, as constants: the driver prepares each once
// and reuses it, and no value is ever spliced into CQL text. Every partition
// key is a bind marker, so routing is token-aware.
const (
	mediaColumns = `media_id, owner_id, state, name, declared_size, declared_sha256, sha256, size, mime, width, height, content_key, thumbnail_key, created_at, finalized_at, deleted_at, attachments`

	cqlInsertMedia   = `INSERT INTO media (` + mediaColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`
	cqlSelectMedia   = `SELECT ` + mediaColumns + ` FROM media WHERE media_id = ?`
	cqlClaimContent  = `UPDATE media SET sha256 = ?, size = ?, mime = ? WHERE media_id = ? IF state = 'pending' AND sha256 = ''`
	cqlFinalizeMedia = `UPDATE media SET state = 'finalized', sha256 = ?, size = ?, mime = ?, width = ?, height = ?, content_key = ?, thumbnail_key = ?, finalized_at = ? WHERE media_id = ? IF state = 'pending'`
	cqlAttach        = `UPDATE media SET attachments = attachments + ? WHERE media_id = ? IF state = 'finalized'`
	cqlDetach        = `UPDATE media SET attachments = attachments - ? WHERE media_id = ? IF state = 'finalized'`
	cqlMarkDeleted   = `UPDATE media SET state = 'deleted', deleted_at = ? WHERE media_id = ? IF state = ? AND attachments = null`
	cqlPurgeMedia    = `DELETE FROM media WHERE media_id = ? IF state = 'deleted'`

	blobColumns = `sha256, state, object_key, thumbnail_key, size, mime, width, height, created_at, refs`

	cqlInsertBlob      = `INSERT INTO blobs (` + blobColumns + `) VALUES (?, 'live', ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`
	cqlSelectBlob      = `SELECT ` + blobColumns + ` FROM blobs WHERE sha256 = ?`
	cqlAddBlobRef      = `UPDATE blobs SET refs = refs + ? WHERE sha256 = ? IF state = 'live'`
	cqlRemoveBlobRef   = `UPDATE blobs SET refs = refs - ? WHERE sha256 = ? IF EXISTS`
	cqlBeginBlobDelete = `UPDATE blobs SET state = 'deleting' WHERE sha256 = ? IF state = 'live' AND refs = null`
	cqlFinishBlobDel   = `DELETE FROM blobs WHERE sha256 = ? IF state = 'deleting'`

	cqlInsertCheck  = `INSERT INTO cleanup_checks (scope, hour, shard, due, kind, key) VALUES (?, ?, ?, ?, ?, ?) USING TTL ?`
	cqlSelectChecks = `SELECT due, kind, key FROM cleanup_checks WHERE scope = ? AND hour = ? AND shard = ? AND due >= ? AND due < ?`
	cqlSelectCP     = `SELECT checkpoint FROM cleanup_state WHERE scope = ?`
	cqlSetCP        = `INSERT INTO cleanup_state (scope, checkpoint) VALUES (?, ?)`

	cqlSelectLimits = `SELECT limits FROM upload_limits WHERE scope = ?`
	cqlSetLimits    = `INSERT INTO upload_limits (scope, limits, updated_at, updated_by) VALUES (?, ?, ?, ?)`
)
