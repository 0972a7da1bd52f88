package http

import (
	"time"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
)

type createRequest struct {
	Name      string   `json:"name"`
	Topic     string   `json:"topic"`
	Avatar    string   `json:"avatar"`
	Members   []ids.ID `json:"members"`
	SizeLimit int      `json:"size_limit"`
}

type updateRequest struct {
	Name   *string `json:"name"`
	Topic  *string `json:"topic"`
	Avatar *string `json:"avatar"`
}

type limitRequest struct {
	SizeLimit int `json:"size_limit"`
}

type addRequest struct {
	Users []ids.ID `json:"users"`
}

type roleRequest struct {
	Role string `json:"role"`
}

type platformLimitsRequest struct {
	DefaultLimit *int `json:"default_limit"`
	Ceiling      *int `json:"ceiling"`
}

type groupJSON struct {
	ID             ids.ID    `json:"id"`
	Name           string    `json:"name"`
	Topic          string    `json:"topic"`
	Avatar         string    `json:"avatar,omitempty"`
	SizeLimit      int       `json:"size_limit"`
	EffectiveLimit int       `json:"effective_limit"`
	LimitKind      string    `json:"limit_kind"`
	MemberCount    int       `json:"member_count"`
	RosterVersion  int64     `json:"roster_version"`
	CreatedAt      time.Time `json:"created_at"`
	CreatedBy      ids.ID    `json:"created_by"`
	Role           string    `json:"role"`
	JoinedAt       time.Time `json:"joined_at"`
}

type groupEnvelope struct {
	Group groupJSON `json:"group"`
}

type groupsPage struct {
	Groups []groupJSON `json:"groups"`
	Next   string      `json:"next,omitempty"`
}

type memberJSON struct {
	UserID   ids.ID    `json:"user_id"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

type membersPage struct {
	Members []memberJSON `json:"members"`
	Next    string       `json:"next,omitempty"`
}

type addResponse struct {
	Group          groupJSON    `json:"group"`
	Added          []memberJSON `json:"added"`
	AlreadyMembers []ids.ID     `json:"already_members"`
}

type memberEnvelope struct {
	Member memberJSON `json:"member"`
}

type limitsJSON struct {
	DefaultLimit int `json:"default_limit"`
	Ceiling      int `json:"ceiling"`
	MinLimit     int `json:"min_limit"`
	// MaxCeiling is shown to platform admins only.
	MaxCeiling int `json:"max_ceiling,omitempty"`
}

type auditJSON struct {
	ID    ids.ID    `json:"id"`
	Actor ids.ID    `json:"actor"`
	Field string    `json:"field"`
	Old   int       `json:"old"`
	New   int       `json:"new"`
	At    time.Time `json:"at"`
}

type auditPage struct {
	Entries []auditJSON `json:"entries"`
	Next    string      `json:"next,omitempty"`
}

func toGroup(v usecase.GroupView) groupJSON {
	g := v.Group
	out := groupJSON{ID: g.ID, Name: g.Name, Topic: g.Topic, SizeLimit: g.SizeLimit, EffectiveLimit: v.Limit,
		LimitKind: v.Which, MemberCount: g.MemberCount, RosterVersion: g.Version, CreatedAt: g.CreatedAt,
		CreatedBy: g.CreatedBy, Role: v.Me.Role, JoinedAt: v.Me.JoinedAt}
	if g.Avatar != 0 {
		out.Avatar = g.Avatar.String()
	}
	return out
}

func toMember(m entity.Member) memberJSON {
	return memberJSON{UserID: m.User, Role: m.Role, JoinedAt: m.JoinedAt}
}

func toMembers(ms []entity.Member) []memberJSON {
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = toMember(m)
	}
	return out
}

func toLimits(l entity.PlatformLimits) limitsJSON {
	return limitsJSON{DefaultLimit: l.Default, Ceiling: l.Ceiling, MinLimit: entity.MinLimit}
}

func cursor(id ids.ID) string {
	if id == 0 {
		return ""
	}
	return id.String()
}
