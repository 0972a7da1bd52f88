// Package protocol is the client ↔ gateway wire protocol: one flat JSON
// envelope {"v":1,"id":"…","type":"…",…payload} for every frame, a Go type per
// frame type, validation against explicit Limits, and a cheap encoder for
// pushes that are encoded once and written to many connections.
//
// PROTOCOL.md next to this file is the client-facing specification; golden
// files under testdata/golden pin the JSON of every frame, and the tests check
// that the document, the golden files and the errs tables agree.
//
// Conventions, chosen once for every frame:
//   - 64-bit ids (message, user, group, media) travel as decimal strings,
//     because JavaScript numbers lose precision above 2^53;
//   - instants are unix milliseconds (JSON numbers, fields ending in _at_ms or
//     _time_ms) and durations are milliseconds (fields ending in _ms);
//   - optional fields are omitted when empty; unknown fields are ignored so
//     that either side can add optional fields within version 1.
package protocol
