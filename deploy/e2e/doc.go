// Package e2e holds the multi-process end-to-end tests: real service
// binaries, built from this workspace, started as separate processes on
// 127.0.0.1 against the real stack from deploy/stack (Redis, Redis Cluster,
// Cassandra, MinIO). They fail, never skip, when the stack is missing,
// unless CHAT_TEST_QUICK=1 asks for the embedded-only quick run.
package e2e
