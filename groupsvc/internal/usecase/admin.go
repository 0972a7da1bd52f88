package usecase

import (
	"context"
	"errors"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

func requireAdmin(caller Identity) error {
	if !caller.HasRole(RoleAdmin) {
		return errs.New(errs.PermissionDenied, "platform admin role required")
	}
	return nil
}

// PlatformLimits returns the limits in force (any signed-in user may read them).
func (s *Service) PlatformLimits(ctx context.Context) (entity.PlatformLimits, error) {
	return s.platformLimits(ctx)
}

// HardMax is the largest ceiling an admin may set.
func (s *Service) HardMax() int { return s.cfg.HardMax }

// LimitsInput changes the platform limits; nil fields stay.
type LimitsInput struct {
	Caller  Identity
	Default *int
	Ceiling *int
}

// SetPlatformLimits changes the default and the ceiling (platform admins)
// and records each change in the audit log, in the same write. Lowering
// the ceiling below a group's size blocks its joins and evicts nobody.
func (s *Service) SetPlatformLimits(ctx context.Context, in LimitsInput) (entity.PlatformLimits, error) {
	if err := requireAdmin(in.Caller); err != nil {
		return entity.PlatformLimits{}, err
	}
	if in.Default == nil && in.Ceiling == nil {
		return entity.PlatformLimits{}, errs.New(errs.InvalidArgument, "set default_limit, ceiling or both")
	}
	var out entity.PlatformLimits
	err := s.retry(ctx, func() error {
		cur, err := s.platformLimits(ctx)
		if err != nil {
			return err
		}
		next := cur
		if in.Default != nil {
			next.Default = *in.Default
		}
		if in.Ceiling != nil {
			next.Ceiling = *in.Ceiling
		}
		if err := next.Validate(s.cfg.HardMax); err != nil {
			return err
		}
		now := s.now()
		var audit []entity.AuditEntry
		if next.Default != cur.Default {
			audit = append(audit, entity.AuditEntry{ID: s.IDs.Next(), Actor: in.Caller.UserID, Field: "default_limit",
				Old: cur.Default, New: next.Default, At: now})
		}
		if next.Ceiling != cur.Ceiling {
			audit = append(audit, entity.AuditEntry{ID: s.IDs.Next(), Actor: in.Caller.UserID, Field: "ceiling",
				Old: cur.Ceiling, New: next.Ceiling, At: now})
		}
		out = cur
		if len(audit) == 0 {
			return nil
		}
		next.Version = cur.Version + 1
		err = s.Limits.SetPlatformLimits(ctx, next, cur.Version, audit)
		if err != nil && !errors.Is(err, entity.ErrConflict) {
			return storeError(err)
		}
		out = next
		return err
	})
	return out, err
}

// Audit pages through the limit changes, newest first (platform admins).
func (s *Service) Audit(ctx context.Context, caller Identity, before ids.ID, limit int) ([]entity.AuditEntry, ids.ID, error) {
	if err := requireAdmin(caller); err != nil {
		return nil, 0, err
	}
	limit, err := CheckPage(limit)
	if err != nil {
		return nil, 0, err
	}
	es, err := s.Limits.Audit(ctx, before, limit)
	if err != nil {
		return nil, 0, storeError(err)
	}
	var next ids.ID
	if len(es) == limit {
		next = es[len(es)-1].ID
	}
	return es, next, nil
}
