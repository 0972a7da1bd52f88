package entity

import "errors"

// Store errors. Adapters of the metadata and object stores return exactly
// these (possibly wrapped), so use cases tell the cases apart without
// knowing the adapter; any other error means the store is unavailable.
var (
	// ErrNotFound: no such record or object.
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with this key already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict: a conditional change did not apply because the record
	// is no longer in the state it required; the current record is returned
	// alongside where the port says so.
	ErrConflict = errors.New("state changed concurrently")
	// ErrBlobDeleting: the blob is being deleted; try again once it is gone.
	ErrBlobDeleting = errors.New("blob is being deleted")
	// ErrChanged: the object was rewritten since the version the caller named.
	ErrChanged = errors.New("object changed")
	// ErrNotSupported: the object store cannot do this (presigned URLs on
	// the local directory).
	ErrNotSupported = errors.New("not supported by this object store")
)
