// Package cassandra is groupsvc's production store on Apache Cassandra.
//
// A group is one partition of the groups table: settings and bookkeeping
// in static columns (version, member_count, the outbox), members as rows.
// Every change of a group is one conditional batch on that partition,
// `IF version = <what the writer read>` (LOCAL_SERIAL): the settings, the
// member rows and the outbox events apply together or not at all, and two
// racing changes cannot both apply, so concurrent adds never push a group
// past its limit. The loser re-reads and decides again (usecase.retry).
//
// Around that batch, in this order:
//  1. before it, the group is entered in outbox_index (idempotent; a batch
//     that then fails leaves an entry the dispatcher drops as idle);
//  2. after it, the per-user memberships index is written from the events,
//     USING TIMESTAMP = the group's version, so repeating an older event
//     never undoes a newer one. If the writer dies before this step, the
//     dispatcher repeats it from the outbox before posting the event.
//
// Reads and plain writes use LOCAL_QUORUM and are marked idempotent; the
// platform limits and their audit entries are one conditional batch too.
package cassandra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit/cqlkit"
)

// Config selects the cluster and keyspace.
type Config = cqlkit.Config

// DefaultScope is the scope of the platform limits.
const DefaultScope = "default"

// shards spread outbox_index over partitions.
const shards = 16

var (
	_ usecase.GroupStore = (*Store)(nil)
	_ usecase.LimitStore = (*Store)(nil)
)

// Store is the Cassandra adapter. It is safe for concurrent use.
type Store struct {
	session cqlkit.Session
	scope   string
	logger  *slog.Logger
}

// Open connects to the keyspace, which Migrate must have created.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	session, err := cqlkit.Connect(cfg)
	if err != nil {
		return nil, err
	}
	return &Store{session: session, scope: DefaultScope, logger: logger}, nil
}

// WithScope returns a store sharing s's connections whose platform limits
// and audit log live under scope (for tests sharing one keyspace).
func (s *Store) WithScope(scope string) *Store {
	c := *s
	c.scope = scope
	return &c
}

// Close closes the connections.
func (s *Store) Close() error {
	s.session.Close()
	return nil
}

// Ping checks that the cluster answers, for the readiness probe.
func (s *Store) Ping(ctx context.Context) error { return s.session.Ping(ctx) }

func shardOf(group ids.ID) int { return int(uint64(group) % shards) }

// expectArg is the bound value of `IF version = ?`: null for "no group yet".
func expectArg(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// Apply implements usecase.GroupStore.
func (s *Store) Apply(ctx context.Context, c usecase.Change) error {
	g := c.Group
	if len(c.Events) > 0 {
		if err := s.session.Write(ctx, cqlIndexPending, shardOf(g.ID), int64(g.ID)); err != nil {
			return err
		}
	}
	outbox := make(map[int64]string, len(c.Events))
	for _, ev := range c.Events {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		outbox[int64(ev.EventID)] = string(data)
	}
	b := s.session.Batch(gocql.UnloggedBatch).WithContext(ctx).SerialConsistency(gocql.LocalSerial)
	b.Query(cqlChangeGroup, g.Name, g.Topic, int64(g.Avatar), g.SizeLimit, g.MemberCount, g.Version, g.CreatedAt,
		int64(g.CreatedBy), g.Deleted, outbox, int64(g.ID), expectArg(c.Expect))
	for _, m := range c.Put {
		b.Query(cqlPutMember, int64(g.ID), int64(m.User), m.Role, m.JoinedAt)
	}
	for _, u := range c.Delete {
		b.Query(cqlDelMember, int64(g.ID), int64(u))
	}
	applied, iter, err := b.MapExecCAS(map[string]any{})
	if iter != nil {
		_ = iter.Close()
	}
	if err != nil && casUnknown(err) {
		applied, err = s.outcome(ctx, c, err)
	}
	if err != nil {
		return err
	}
	if !applied {
		return entity.ErrConflict
	}
	for _, ev := range c.Events {
		if ev.Kind == groupapi.EventGroupDeleted {
			continue // the dispatcher removes every member's entry, from the rows it keeps until then
		}
		if err := s.SyncMemberships(ctx, ev); err != nil {
			// The change stands; the dispatcher writes these entries again
			// before it posts the event.
			s.logger.Warn("writing the memberships index failed; the dispatcher repeats it",
				slog.String("group", g.ID.String()), slog.Any("err", err))
			break
		}
	}
	return nil
}

// casUnknown reports a conditional write whose outcome Cassandra could not
// tell (a Paxos round timed out under contention, say).
func casUnknown(err error) bool {
	var timeout *gocql.RequestErrWriteTimeout
	var unknown *gocql.RequestErrCASWriteUnknown
	return (errors.As(err, &timeout) && timeout.WriteType == "CAS") || errors.As(err, &unknown)
}

// outcome settles a conditional change whose result is unknown with a
// serial read (which completes any Paxos round in flight): the change
// applied if its first event is in the outbox, and did not if the group is
// still at the expected version (a conflict: the caller re-reads and
// retries). Anything else stays unknown and cause is returned.
func (s *Store) outcome(ctx context.Context, c usecase.Change, cause error) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var version *int64
	var outbox map[int64]string
	err := s.session.Query(cqlSerialState, int64(c.Group.ID)).WithContext(ctx).Consistency(gocql.LocalSerial).
		Scan(&version, &outbox)
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return false, cause
	}
	if len(c.Events) > 0 {
		if _, ok := outbox[int64(c.Events[0].EventID)]; ok {
			return true, nil
		}
	}
	if (version == nil && c.Expect == 0) || (version != nil && *version == c.Expect) {
		return false, nil
	}
	return false, cause
}

// SyncMemberships implements usecase.GroupStore.
func (s *Store) SyncMemberships(ctx context.Context, ev entity.Event) error {
	ts := ev.RosterVersion
	for _, m := range ev.Put {
		if err := s.session.Write(ctx, cqlPutMembership, int64(m.User), int64(m.Group), m.Role, m.JoinedAt, ts); err != nil {
			return err
		}
	}
	for _, u := range ev.Removed {
		if err := s.session.Write(ctx, cqlDelMembership, ts, int64(u), int64(ev.Group)); err != nil {
			return err
		}
	}
	return nil
}

// Group implements usecase.GroupStore.
func (s *Store) Group(ctx context.Context, id ids.ID) (entity.Group, error) {
	var (
		name, topic            string
		avatar, createdBy      int64
		version                *int64
		sizeLimit, memberCount int
		createdAt              time.Time
		deleted                bool
	)
	err := s.session.Read(ctx, cqlSelectGroup, int64(id)).Scan(&name, &topic, &avatar, &sizeLimit, &memberCount, &version,
		&createdAt, &createdBy, &deleted)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && version == nil) {
		return entity.Group{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Group{}, err
	}
	return entity.Group{ID: id, Name: name, Topic: topic, Avatar: ids.ID(avatar), SizeLimit: sizeLimit,
		MemberCount: memberCount, Version: *version, CreatedAt: createdAt.UTC(), CreatedBy: ids.ID(createdBy),
		Deleted: deleted}, nil
}

// Member implements usecase.GroupStore.
func (s *Store) Member(ctx context.Context, group, user ids.ID) (entity.Member, error) {
	var role string
	var joined time.Time
	err := s.session.Read(ctx, cqlSelectMember, int64(group), int64(user)).Scan(&role, &joined)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && role == "") {
		return entity.Member{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Member{}, err
	}
	return entity.Member{Group: group, User: user, Role: role, JoinedAt: joined.UTC()}, nil
}

// Members implements usecase.GroupStore.
func (s *Store) Members(ctx context.Context, group, after ids.ID, limit int) ([]entity.Member, error) {
	q := s.session.Read(ctx, cqlSelectRoster, int64(group), int64(after))
	if limit > 0 {
		q = s.session.Read(ctx, cqlSelectMembers, int64(group), int64(after), limit)
	}
	iter := q.PageSize(5000).Iter()
	var (
		out    []entity.Member
		user   int64
		role   string
		joined time.Time
	)
	for iter.Scan(&user, &role, &joined) {
		if user != 0 && role != "" {
			out = append(out, entity.Member{Group: group, User: ids.ID(user), Role: role, JoinedAt: joined.UTC()})
		}
	}
	return out, iter.Close()
}

// Memberships implements usecase.GroupStore.
func (s *Store) Memberships(ctx context.Context, user, after ids.ID, limit int) ([]entity.Membership, error) {
	q := s.session.Read(ctx, cqlSelectAllGroups, int64(user), int64(after))
	if limit > 0 {
		q = s.session.Read(ctx, cqlSelectMemberships, int64(user), int64(after), limit)
	}
	iter := q.Iter()
	var (
		out    []entity.Membership
		group  int64
		role   string
		joined time.Time
	)
	for iter.Scan(&group, &role, &joined) {
		out = append(out, entity.Membership{User: user, Group: ids.ID(group), Role: role, JoinedAt: joined.UTC()})
	}
	return out, iter.Close()
}

// PendingGroups implements usecase.GroupStore.
func (s *Store) PendingGroups(ctx context.Context, limit int) ([]ids.ID, error) {
	var out []ids.ID
	for shard := range shards {
		iter := s.session.Read(ctx, cqlSelectPending, shard).Iter()
		var g int64
		for iter.Scan(&g) {
			out = append(out, ids.ID(g))
		}
		if err := iter.Close(); err != nil {
			return nil, err
		}
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
	}
	return out, nil
}

// Outbox implements usecase.GroupStore.
func (s *Store) Outbox(ctx context.Context, group ids.ID) ([]entity.Event, error) {
	var raw map[int64]string
	err := s.session.Read(ctx, cqlSelectOutbox, int64(group)).Scan(&raw)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys := make([]int64, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]entity.Event, 0, len(keys))
	for _, k := range keys {
		var ev entity.Event
		if err := json.Unmarshal([]byte(raw[k]), &ev); err != nil {
			return nil, fmt.Errorf("outbox event %d of group %d: %w", k, group, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Ack implements usecase.GroupStore. The outbox cells are written by
// conditional batches, so they are removed conditionally too (never mix
// Paxos and plain writes on one cell).
func (s *Store) Ack(ctx context.Context, group, event ids.ID) error {
	_, err := s.session.Query(cqlAckEvent, []int64{int64(event)}, int64(group)).WithContext(ctx).
		SerialConsistency(gocql.LocalSerial).MapScanCAS(map[string]any{})
	return err
}

// PurgeMembers implements usecase.GroupStore: one range tombstone. The
// group is deleted, so no conditional write touches these rows again.
func (s *Store) PurgeMembers(ctx context.Context, group ids.ID) error {
	return s.session.Write(ctx, cqlPurgeMembers, int64(group), int64(0))
}

// ForgetIfIdle implements usecase.GroupStore: the index entry goes, then
// the outbox is read again and the entry restored if an event arrived in
// between (its writer indexed before its batch, possibly before our delete).
func (s *Store) ForgetIfIdle(ctx context.Context, group ids.ID) error {
	evs, err := s.Outbox(ctx, group)
	if err != nil || len(evs) > 0 {
		return err
	}
	if err := s.session.Write(ctx, cqlUnindex, shardOf(group), int64(group)); err != nil {
		return err
	}
	if evs, err = s.Outbox(ctx, group); err != nil || len(evs) == 0 {
		return err
	}
	return s.session.Write(ctx, cqlIndexPending, shardOf(group), int64(group))
}

// PlatformLimits implements usecase.LimitStore.
func (s *Store) PlatformLimits(ctx context.Context) (entity.PlatformLimits, error) {
	var def, ceiling int
	var version *int64
	err := s.session.Read(ctx, cqlSelectLimits, s.scope).Scan(&def, &ceiling, &version)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && version == nil) {
		return entity.PlatformLimits{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.PlatformLimits{}, err
	}
	return entity.PlatformLimits{Default: def, Ceiling: ceiling, Version: *version}, nil
}

// SetPlatformLimits implements usecase.LimitStore.
func (s *Store) SetPlatformLimits(ctx context.Context, l entity.PlatformLimits, expect int64, audit []entity.AuditEntry) error {
	b := s.session.Batch(gocql.UnloggedBatch).WithContext(ctx).SerialConsistency(gocql.LocalSerial)
	b.Query(cqlSetLimits, l.Default, l.Ceiling, l.Version, s.scope, expectArg(expect))
	for _, a := range audit {
		b.Query(cqlInsertAudit, s.scope, int64(a.ID), int64(a.Actor), a.Field, a.Old, a.New, a.At)
	}
	applied, iter, err := b.MapExecCAS(map[string]any{})
	if iter != nil {
		_ = iter.Close()
	}
	if err != nil {
		return err
	}
	if !applied {
		return entity.ErrConflict
	}
	return nil
}

// Audit implements usecase.LimitStore.
func (s *Store) Audit(ctx context.Context, before ids.ID, limit int) ([]entity.AuditEntry, error) {
	b := int64(before)
	if b <= 0 {
		b = math.MaxInt64
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	iter := s.session.Read(ctx, cqlSelectAudit, s.scope, b, limit).Iter()
	var (
		out        []entity.AuditEntry
		id, actor  int64
		field      string
		oldV, newV int
		at         time.Time
	)
	for iter.Scan(&id, &actor, &field, &oldV, &newV, &at) {
		out = append(out, entity.AuditEntry{ID: ids.ID(id), Actor: ids.ID(actor), Field: field, Old: oldV, New: newV, At: at.UTC()})
	}
	return out, iter.Close()
}
