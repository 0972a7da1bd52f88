package entity

import "github.com/parleychat/parley/shared/errs"

// The rules of who may do what in a group. actor is the acting member's
// role; the functions return nil when the action is allowed.

func denied(msg string) error { return errs.New(errs.PermissionDenied, msg) }

func isManager(role string) bool { return role == RoleOwner || role == RoleAdmin }

// CanAdd: owners and admins add members.
func CanAdd(actor string) error {
	if !isManager(actor) {
		return denied("only the group's owners and admins add members")
	}
	return nil
}

// CanEditSettings: owners and admins rename, set the topic, avatar and limit.
func CanEditSettings(actor string) error {
	if !isManager(actor) {
		return denied("only the group's owners and admins change its settings")
	}
	return nil
}

// CanDelete: only owners delete a group.
func CanDelete(actor string) error {
	if actor != RoleOwner {
		return denied("only the group's owners delete it")
	}
	return nil
}

// CanRemove: owners remove anyone but the last owner; admins remove plain
// members only; members remove nobody (they leave instead).
func CanRemove(actor, target string, owners int) error {
	switch actor {
	case RoleOwner:
		if target == RoleOwner && owners <= 1 {
			return lastOwner("removed")
		}
		return nil
	case RoleAdmin:
		if target != RoleMember {
			return denied("admins remove members only; ask an owner")
		}
		return nil
	}
	return denied("only the group's owners and admins remove members")
}

// CanChangeRole: only owners change roles, and the last owner cannot be
// demoted (promote another member to owner first).
func CanChangeRole(actor, target, to string, owners int) error {
	if actor != RoleOwner {
		return denied("only the group's owners change roles")
	}
	if !ValidRole(to) {
		return errs.Newf(errs.InvalidArgument, "role must be owner, admin or member, not %q", to).WithDetail("field", "role")
	}
	if target == RoleOwner && to != RoleOwner && owners <= 1 {
		return lastOwner("demoted")
	}
	return nil
}

// CanLeave: anyone leaves, except the last owner, who hands over first.
func CanLeave(role string, owners int) error {
	if role == RoleOwner && owners <= 1 {
		return errs.New(errs.FailedPrecondition,
			"the last owner cannot leave: make another member owner first, or delete the group").WithDetail("reason", "last_owner")
	}
	return nil
}

func lastOwner(what string) error {
	return errs.Newf(errs.FailedPrecondition, "the last owner cannot be %s: make another member owner first", what).
		WithDetail("reason", "last_owner")
}
