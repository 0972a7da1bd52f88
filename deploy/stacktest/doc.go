// Package stacktest holds smoke tests proving, from Go and with the client
// libraries the project uses, that the local test stack started by
// deploy/stack/up.sh works: Cassandra (gocql v2), Redis standalone and Redis
// Cluster (go-redis v9), and MinIO (minio-go v7).
//
// The tests fail, rather than skip, when the stack is not up (see
// shared/stackenv); CHAT_TEST_QUICK=1 skips them.
//
//	deploy/stack/up.sh
//	cd deploy/stacktest && go test -race -count=1 ./...
package stacktest
