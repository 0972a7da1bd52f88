// Package embedded is groupsvc's single-machine store: one bbolt file in
// the data directory. A change of a group (its row, member rows, per-user
// index entries and outbox events) is one bbolt transaction, checked
// against the group's version inside it, so concurrent adds can never push
// a group past its limit and nothing is ever half-written. bbolt has one
// writer at a time, plenty for group administration on one machine.
package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/boltkit"
)

// FileName is the database file inside the data directory.
const FileName = "groupsvc.db"

var (
	bucketGroups      = []byte("groups")      // group → groupRecord
	bucketMembers     = []byte("members")     // group | user → memberRecord
	bucketMemberships = []byte("memberships") // user | group → memberRecord
	bucketOutbox      = []byte("outbox")      // group | event → entity.Event
	bucketAudit       = []byte("audit")       // entry id → auditRecord
	bucketMeta        = []byte("meta")        // keyLimits
	allBuckets        = [][]byte{bucketGroups, bucketMembers, bucketMemberships, bucketOutbox, bucketAudit, bucketMeta}

	keyLimits = []byte("platform_limits")
)

var (
	_ usecase.GroupStore = (*Store)(nil)
	_ usecase.LimitStore = (*Store)(nil)
)

// Config configures the store.
type Config struct {
	// Dir holds the database file; it is created if missing.
	Dir string
	// OpenTimeout bounds the wait for the file lock (default 2s).
	OpenTimeout time.Duration
}

// Store is the embedded adapter. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	logger *slog.Logger
	closed sync.Once
}

// Open opens (creating if needed) the database in cfg.Dir.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	db, err := boltkit.Open(boltkit.Options{Dir: cfg.Dir, File: FileName, Service: "groupsvc", Buckets: allBuckets,
		OpenTimeout: cfg.OpenTimeout,
	})
	if err != nil {
		return nil, err
	}
	return &Store{db: db, logger: logger}, nil
}

// Close closes the file; later calls do nothing.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() { err = s.db.Close() })
	return err
}

// Ping reports whether the database is usable, for the readiness probe.
func (s *Store) Ping(context.Context) error { return s.db.View(func(*bolt.Tx) error { return nil }) }

func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

type groupRecord struct {
	Name        string `json:"name"`
	Topic       string `json:"topic,omitempty"`
	Avatar      ids.ID `json:"avatar,omitempty"`
	SizeLimit   int    `json:"size_limit,omitempty"`
	MemberCount int    `json:"member_count"`
	Version     int64  `json:"version"`
	CreatedAtMs int64  `json:"created_at_ms"`
	CreatedBy   ids.ID `json:"created_by"`
	Deleted     bool   `json:"deleted,omitempty"`
}

func toGroupRecord(g entity.Group) groupRecord {
	return groupRecord{Name: g.Name, Topic: g.Topic, Avatar: g.Avatar, SizeLimit: g.SizeLimit, MemberCount: g.MemberCount,
		Version: g.Version, CreatedAtMs: g.CreatedAt.UnixMilli(), CreatedBy: g.CreatedBy, Deleted: g.Deleted}
}

func (r groupRecord) group(id ids.ID) entity.Group {
	return entity.Group{ID: id, Name: r.Name, Topic: r.Topic, Avatar: r.Avatar, SizeLimit: r.SizeLimit,
		MemberCount: r.MemberCount, Version: r.Version, CreatedAt: time.UnixMilli(r.CreatedAtMs).UTC(),
		CreatedBy: r.CreatedBy, Deleted: r.Deleted}
}

// memberRecord is a member row or index entry: a role byte and the join
// time in Unix milliseconds, big-endian. Binary, not JSON: a roster read
// decodes one per member.
type memberRecord struct {
	Role       string
	JoinedAtMs int64
}

var roleCodes = map[string]byte{entity.RoleOwner: 'o', entity.RoleAdmin: 'a', entity.RoleMember: 'm'}

var roleNames = map[byte]string{'o': entity.RoleOwner, 'a': entity.RoleAdmin, 'm': entity.RoleMember}

func (r memberRecord) bytes() []byte {
	b := make([]byte, 9)
	b[0] = roleCodes[r.Role]
	binary.BigEndian.PutUint64(b[1:], uint64(r.JoinedAtMs))
	return b
}

func decodeMember(b []byte) (memberRecord, error) {
	if len(b) != 9 || roleNames[b[0]] == "" {
		return memberRecord{}, fmt.Errorf("embedded store: malformed member record %x", b)
	}
	return memberRecord{Role: roleNames[b[0]], JoinedAtMs: int64(binary.BigEndian.Uint64(b[1:]))}, nil
}

type auditRecord struct {
	Actor ids.ID `json:"actor"`
	Field string `json:"field"`
	Old   int    `json:"old"`
	New   int    `json:"new"`
	AtMs  int64  `json:"at_ms"`
}

type limitsRecord struct {
	Default int   `json:"default"`
	Ceiling int   `json:"ceiling"`
	Version int64 `json:"version"`
}

func be64(v ids.ID) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func key2(a, b ids.ID) []byte { return append(be64(a), be64(b)...) }

func second(k []byte) ids.ID { return ids.ID(binary.BigEndian.Uint64(k[8:16])) }

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the record types always marshal
	}
	return b
}

func decode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

func readGroup(tx *bolt.Tx, id ids.ID) (entity.Group, error) {
	raw := tx.Bucket(bucketGroups).Get(be64(id))
	if raw == nil {
		return entity.Group{}, entity.ErrNotFound
	}
	r, err := decode[groupRecord](raw)
	return r.group(id), err
}

// Apply implements usecase.GroupStore: the version check and every write
// in one transaction.
func (s *Store) Apply(ctx context.Context, c usecase.Change) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		cur, err := readGroup(tx, c.Group.ID)
		switch {
		case errors.Is(err, entity.ErrNotFound):
			if c.Expect != 0 {
				return entity.ErrConflict
			}
		case err != nil:
			return err
		case c.Expect == 0 || cur.Version != c.Expect:
			return entity.ErrConflict
		}
		if err := tx.Bucket(bucketGroups).Put(be64(c.Group.ID), encode(toGroupRecord(c.Group))); err != nil {
			return err
		}
		members := tx.Bucket(bucketMembers)
		for _, m := range c.Put {
			if err := members.Put(key2(m.Group, m.User), memberRecord{Role: m.Role, JoinedAtMs: m.JoinedAt.UnixMilli()}.bytes()); err != nil {
				return err
			}
		}
		for _, u := range c.Delete {
			if err := members.Delete(key2(c.Group.ID, u)); err != nil {
				return err
			}
		}
		outbox := tx.Bucket(bucketOutbox)
		for _, ev := range c.Events {
			if err := syncMemberships(tx, ev); err != nil {
				return err
			}
			if err := outbox.Put(key2(c.Group.ID, ev.EventID), encode(ev)); err != nil {
				return err
			}
		}
		return nil
	})
}

// syncMemberships writes an event's index entries; a deleted group drops
// the entries of every member (its member rows stay until purged).
func syncMemberships(tx *bolt.Tx, ev entity.Event) error {
	idx := tx.Bucket(bucketMemberships)
	for _, m := range ev.Put {
		if err := idx.Put(key2(m.User, m.Group), memberRecord{Role: m.Role, JoinedAtMs: m.JoinedAt.UnixMilli()}.bytes()); err != nil {
			return err
		}
	}
	removed := ev.Removed
	if ev.Kind == groupapi.EventGroupDeleted {
		prefix := be64(ev.Group)
		c := tx.Bucket(bucketMembers).Cursor()
		for k, _ := c.Seek(prefix); k != nil && string(k[:8]) == string(prefix); k, _ = c.Next() {
			removed = append(removed, second(k))
		}
	}
	for _, u := range removed {
		if err := idx.Delete(key2(u, ev.Group)); err != nil {
			return err
		}
	}
	return nil
}

// Group implements usecase.GroupStore.
func (s *Store) Group(ctx context.Context, id ids.ID) (entity.Group, error) {
	var g entity.Group
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		g, err = readGroup(tx, id)
		return err
	})
	return g, err
}

// Member implements usecase.GroupStore.
func (s *Store) Member(ctx context.Context, group, user ids.ID) (entity.Member, error) {
	var m entity.Member
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMembers).Get(key2(group, user))
		if raw == nil {
			return entity.ErrNotFound
		}
		r, err := decodeMember(raw)
		m = entity.Member{Group: group, User: user, Role: r.Role, JoinedAt: time.UnixMilli(r.JoinedAtMs).UTC()}
		return err
	})
	return m, err
}

// scan visits the records of bucket under prefix with second keys above
// after, at most limit (0: all).
func (s *Store) scan(ctx context.Context, bucket []byte, prefix, after ids.ID, limit int, fn func(k ids.ID, v []byte) error) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		p := be64(prefix)
		c := tx.Bucket(bucket).Cursor()
		n := 0
		for k, v := c.Seek(key2(prefix, after+1)); k != nil && string(k[:8]) == string(p); k, v = c.Next() {
			if err := fn(second(k), v); err != nil {
				return err
			}
			if n++; limit > 0 && n >= limit {
				break
			}
		}
		return nil
	})
}

// Members implements usecase.GroupStore.
func (s *Store) Members(ctx context.Context, group, after ids.ID, limit int) ([]entity.Member, error) {
	var out []entity.Member
	err := s.scan(ctx, bucketMembers, group, after, limit, func(user ids.ID, v []byte) error {
		r, err := decodeMember(v)
		out = append(out, entity.Member{Group: group, User: user, Role: r.Role, JoinedAt: time.UnixMilli(r.JoinedAtMs).UTC()})
		return err
	})
	return out, err
}

// Memberships implements usecase.GroupStore.
func (s *Store) Memberships(ctx context.Context, user, after ids.ID, limit int) ([]entity.Membership, error) {
	var out []entity.Membership
	err := s.scan(ctx, bucketMemberships, user, after, limit, func(group ids.ID, v []byte) error {
		r, err := decodeMember(v)
		out = append(out, entity.Membership{User: user, Group: group, Role: r.Role, JoinedAt: time.UnixMilli(r.JoinedAtMs).UTC()})
		return err
	})
	return out, err
}

// PendingGroups implements usecase.GroupStore: the groups with outbox entries.
func (s *Store) PendingGroups(ctx context.Context, limit int) ([]ids.ID, error) {
	var out []ids.ID
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil; {
			g := ids.ID(binary.BigEndian.Uint64(k[:8]))
			out = append(out, g)
			if limit > 0 && len(out) >= limit {
				break
			}
			k, _ = c.Seek(be64(g + 1))
		}
		return nil
	})
	return out, err
}

// Outbox implements usecase.GroupStore.
func (s *Store) Outbox(ctx context.Context, group ids.ID) ([]entity.Event, error) {
	var out []entity.Event
	err := s.scan(ctx, bucketOutbox, group, 0, 0, func(_ ids.ID, v []byte) error {
		ev, err := decode[entity.Event](v)
		out = append(out, ev)
		return err
	})
	return out, err
}

// SyncMemberships implements usecase.GroupStore. Apply wrote the entries
// in the change's own transaction, so there is nothing to repeat.
func (s *Store) SyncMemberships(context.Context, entity.Event) error { return nil }

// Ack implements usecase.GroupStore.
func (s *Store) Ack(ctx context.Context, group, event ids.ID) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketOutbox).Delete(key2(group, event)) })
}

// PurgeMembers implements usecase.GroupStore.
func (s *Store) PurgeMembers(ctx context.Context, group ids.ID) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		p := be64(group)
		c := tx.Bucket(bucketMembers).Cursor()
		for k, _ := c.Seek(p); k != nil && string(k[:8]) == string(p); k, _ = c.Seek(p) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetIfIdle implements usecase.GroupStore: the outbox is its own index.
func (s *Store) ForgetIfIdle(context.Context, ids.ID) error { return nil }

// PlatformLimits implements usecase.LimitStore.
func (s *Store) PlatformLimits(ctx context.Context) (entity.PlatformLimits, error) {
	var l entity.PlatformLimits
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeta).Get(keyLimits)
		if raw == nil {
			return entity.ErrNotFound
		}
		r, err := decode[limitsRecord](raw)
		l = entity.PlatformLimits{Default: r.Default, Ceiling: r.Ceiling, Version: r.Version}
		return err
	})
	return l, err
}

// SetPlatformLimits implements usecase.LimitStore: limits and audit
// entries in one transaction.
func (s *Store) SetPlatformLimits(ctx context.Context, l entity.PlatformLimits, expect int64, audit []entity.AuditEntry) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var cur int64
		if raw := meta.Get(keyLimits); raw != nil {
			r, err := decode[limitsRecord](raw)
			if err != nil {
				return err
			}
			cur = r.Version
		}
		if cur != expect {
			return entity.ErrConflict
		}
		if err := meta.Put(keyLimits, encode(limitsRecord{Default: l.Default, Ceiling: l.Ceiling, Version: l.Version})); err != nil {
			return err
		}
		for _, a := range audit {
			rec := auditRecord{Actor: a.Actor, Field: a.Field, Old: a.Old, New: a.New, AtMs: a.At.UnixMilli()}
			if err := tx.Bucket(bucketAudit).Put(be64(a.ID), encode(rec)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Audit implements usecase.LimitStore.
func (s *Store) Audit(ctx context.Context, before ids.ID, limit int) ([]entity.AuditEntry, error) {
	var out []entity.AuditEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		var k, v []byte
		if before > 0 {
			k, v = c.Seek(be64(before))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			r, err := decode[auditRecord](v)
			if err != nil {
				return err
			}
			out = append(out, entity.AuditEntry{ID: ids.ID(binary.BigEndian.Uint64(k)), Actor: r.Actor, Field: r.Field,
				Old: r.Old, New: r.New, At: time.UnixMilli(r.AtMs).UTC()})
		}
		return nil
	})
	return out, err
}
