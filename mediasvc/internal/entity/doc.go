// Package entity holds mediasvc's domain types and their rules: media
// records, content blobs shared by identical uploads, per-type size limits,
// the sniffed-type allow-list, message references and cleanup checks. It
// does no I/O; rule violations are *errs.Error values with invalid_argument,
// so every layer can return them unchanged.
package entity
