package entity

import (
	"strconv"
	"time"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// MinLimit is the smallest size any limit may have: a group is at least two people.
const MinLimit = 2

// Which limit refused a join (details.limit of limit_exceeded).
const (
	LimitGroup    = "group"
	LimitPlatform = "platform"
)

// PlatformLimits are the platform admins' settings: the size of a group
// whose owner set none, and the ceiling no group may exceed.
type PlatformLimits struct {
	Default int
	Ceiling int
	// Version increases with every change; changes are conditional on it.
	Version int64
}

// Validate checks the limits against the deployment's hard maximum.
func (p PlatformLimits) Validate(hardMax int) error {
	if p.Ceiling < MinLimit || p.Ceiling > hardMax {
		return errs.Newf(errs.InvalidArgument, "ceiling must be between %d and %d", MinLimit, hardMax).
			WithDetail("field", "ceiling").WithDetail("min", itoa(MinLimit)).WithDetail("max", itoa(hardMax))
	}
	if p.Default < MinLimit || p.Default > p.Ceiling {
		return errs.Newf(errs.InvalidArgument, "default_limit must be between %d and the ceiling (%d)", MinLimit, p.Ceiling).
			WithDetail("field", "default_limit").WithDetail("min", itoa(MinLimit)).WithDetail("max", itoa(p.Ceiling))
	}
	return nil
}

// Effective returns the size limit in force for g and which limit it is:
// the group's own limit when it has one within the ceiling, else the
// platform's default or ceiling.
func (p PlatformLimits) Effective(g Group) (max int, which string) {
	switch {
	case g.SizeLimit > 0 && g.SizeLimit <= p.Ceiling:
		return g.SizeLimit, LimitGroup
	case g.SizeLimit > 0:
		return p.Ceiling, LimitPlatform
	}
	return min(p.Default, p.Ceiling), LimitPlatform
}

// CheckGroupLimit validates a limit an owner or admin sets on a group.
func (p PlatformLimits) CheckGroupLimit(limit int) error {
	if limit < MinLimit || limit > p.Ceiling {
		return errs.Newf(errs.InvalidArgument, "size_limit must be between %d and the platform ceiling %d", MinLimit, p.Ceiling).
			WithDetail("field", "size_limit").WithDetail("min", itoa(MinLimit)).WithDetail("max", itoa(p.Ceiling))
	}
	return nil
}

// CheckJoin refuses growing g to size members. A limit lowered below the
// current size only blocks joins: nobody is evicted.
func (p PlatformLimits) CheckJoin(g Group, size int) error {
	max, which := p.Effective(g)
	if size <= max {
		return nil
	}
	return errs.Newf(errs.LimitExceeded, "the group would have %d members; the %s limit is %d", size, which, max).
		WithDetail("limit", which).WithDetail("max", itoa(max))
}

// AuditEntry records one change of a platform limit.
type AuditEntry struct {
	ID    ids.ID // time-ordered; the listing is newest first
	Actor ids.ID
	Field string // "default_limit" or "ceiling"
	Old   int
	New   int
	At    time.Time
}

func itoa(n int) string { return strconv.Itoa(n) }
