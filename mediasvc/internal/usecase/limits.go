package usecase

import (
	"context"
	"log/slog"

	"github.com/parleychat/parley/mediasvc/internal/entity"
)

// Limits returns the effective per-type limits: the configured ones with the
// admins' stored overrides on top. They are cached for LimitsCacheTTL.
func (s *Service) Limits(ctx context.Context) (entity.Limits, error) {
	s.limitsMu.Lock()
	defer s.limitsMu.Unlock()
	now := s.Now()
	if s.limits != nil && now.Sub(s.limitsAt) < s.cfg.LimitsCacheTTL && !now.Before(s.limitsAt) {
		return s.limits, nil
	}
	stored, err := s.LimitStore.Limits(ctx)
	if err != nil {
		if s.limits != nil {
			// A store hiccup must not stop uploads: keep the last known limits.
			s.Logger.Warn("reading the limits failed; using the cached ones", slog.Any("err", err))
			return s.limits, nil
		}
		return nil, storeError(err)
	}
	s.limits, s.limitsAt = s.cfg.Limits.Merge(stored), now
	return s.limits, nil
}

// SetLimits replaces the admins' overrides (admin role required) and returns
// the effective limits. Types left out fall back to the configuration; a
// limit of 0 refuses the type.
func (s *Service) SetLimits(ctx context.Context, caller Identity, l entity.Limits) (entity.Limits, error) {
	if err := requireAdmin(caller); err != nil {
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if err := s.LimitStore.SetLimits(ctx, l, caller.UserID, s.now()); err != nil {
		return nil, storeError(err)
	}
	s.limitsMu.Lock()
	s.limits = nil
	s.limitsMu.Unlock()
	s.Logger.Info("upload limits set", slog.String("limits", l.String()), slog.String("by", caller.UserID.String()))
	return s.Limits(ctx)
}
