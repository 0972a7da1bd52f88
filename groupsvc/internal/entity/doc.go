// Package entity holds groupsvc's domain: groups, members and their roles,
// the platform's size limits, and the rules of who may do what, as pure
// functions without I/O. Rule violations are *errs.Error values whose code
// and message go to the client unchanged.
package entity
