// Package entity holds authsvc's domain types and their validation rules:
// accounts, devices with their sessions, refresh tokens and signing keys. It
// does no I/O; rule violations are *errs.Error values with invalid_argument,
// so every layer can return them unchanged.
package entity
