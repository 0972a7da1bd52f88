package entity

import (
	"testing"

	"github.com/parleychat/parley/shared/errs"
)

func code(err error) errs.Code {
	if err == nil {
		return ""
	}
	return errs.CodeOf(err)
}

func TestRemoveRules(t *testing.T) {
	for _, c := range []struct {
		actor, target string
		owners        int
		want          errs.Code
	}{
		{RoleOwner, RoleMember, 1, ""},
		{RoleOwner, RoleAdmin, 1, ""},
		{RoleOwner, RoleOwner, 2, ""},
		{RoleOwner, RoleOwner, 1, errs.FailedPrecondition},
		{RoleAdmin, RoleMember, 1, ""},
		{RoleAdmin, RoleAdmin, 1, errs.PermissionDenied},
		{RoleAdmin, RoleOwner, 2, errs.PermissionDenied},
		{RoleMember, RoleMember, 1, errs.PermissionDenied},
	} {
		if got := code(CanRemove(c.actor, c.target, c.owners)); got != c.want {
			t.Errorf("%s removes %s (%d owners) = %q, want %q", c.actor, c.target, c.owners, got, c.want)
		}
	}
}

func TestRoleLeaveAndSettingsRules(t *testing.T) {
	checks := []struct {
		name string
		err  error
		want errs.Code
	}{
		{"owner promotes", CanChangeRole(RoleOwner, RoleMember, RoleOwner, 1), ""},
		{"owner demotes an owner of two", CanChangeRole(RoleOwner, RoleOwner, RoleAdmin, 2), ""},
		{"owner demotes the last owner", CanChangeRole(RoleOwner, RoleOwner, RoleMember, 1), errs.FailedPrecondition},
		{"admin promotes", CanChangeRole(RoleAdmin, RoleMember, RoleAdmin, 1), errs.PermissionDenied},
		{"bad role", CanChangeRole(RoleOwner, RoleMember, "root", 1), errs.InvalidArgument},
		{"member leaves", CanLeave(RoleMember, 1), ""},
		{"owner of two leaves", CanLeave(RoleOwner, 2), ""},
		{"last owner leaves", CanLeave(RoleOwner, 1), errs.FailedPrecondition},
		{"admin adds", CanAdd(RoleAdmin), ""},
		{"member adds", CanAdd(RoleMember), errs.PermissionDenied},
		{"admin edits", CanEditSettings(RoleAdmin), ""},
		{"member edits", CanEditSettings(RoleMember), errs.PermissionDenied},
		{"admin deletes", CanDelete(RoleAdmin), errs.PermissionDenied},
		{"owner deletes", CanDelete(RoleOwner), ""},
	}
	for _, c := range checks {
		if got := code(c.err); got != c.want {
			t.Errorf("%s = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestEffectiveLimitAndWhichOneRefuses(t *testing.T) {
	p := PlatformLimits{Default: 50, Ceiling: 100}
	for _, c := range []struct {
		groupLimit int
		max        int
		which      string
	}{
		{0, 50, LimitPlatform},
		{10, 10, LimitGroup},
		{100, 100, LimitGroup},
		{150, 100, LimitPlatform}, // ceiling lowered under the group's limit
	} {
		max, which := p.Effective(Group{SizeLimit: c.groupLimit})
		if max != c.max || which != c.which {
			t.Errorf("limit %d: %d %s, want %d %s", c.groupLimit, max, which, c.max, c.which)
		}
	}
	err := p.CheckJoin(Group{SizeLimit: 10}, 11)
	e, _ := errs.As(err)
	if e == nil || e.Code != errs.LimitExceeded || e.Details["limit"] != "group" || e.Details["max"] != "10" {
		t.Fatalf("join past 10 = %v", err)
	}
	if err := p.CheckJoin(Group{SizeLimit: 10}, 10); err != nil {
		t.Fatalf("join to exactly 10 = %v", err)
	}
	if (PlatformLimits{Default: 2, Ceiling: 1}).Validate(10) == nil || (PlatformLimits{Default: 5, Ceiling: 11}).Validate(10) == nil ||
		(PlatformLimits{Default: 6, Ceiling: 5}).Validate(10) == nil || (PlatformLimits{Default: 5, Ceiling: 10}).Validate(10) != nil {
		t.Fatal("platform limit validation")
	}
}

func TestNamesAndTopicsAreTrimmedAndBounded(t *testing.T) {
	if n, err := NormalizeName("  héllo  "); err != nil || n != "héllo" {
		t.Fatalf("name = %q, %v", n, err)
	}
	if _, err := NormalizeName(string(make([]rune, 0)) + "\xff"); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
	if tp, err := NormalizeTopic("line one\nline two"); err != nil || tp != "line one\nline two" {
		t.Fatalf("topic with a newline = %q, %v", tp, err)
	}
	if _, err := NormalizeName("a\nb"); err == nil {
		t.Fatal("newline in a name accepted")
	}
}
