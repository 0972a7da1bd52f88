package stacktest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/stackenv"
)

// TestCassandra proves the Cassandra 5.0 node with the driver settings the services
// use: token-aware routing over a DC-aware policy, LOCAL_QUORUM, idempotent
// prepared statements, and a NetworkTopologyStrategy keyspace like production's
// (with RF 1).
func TestCassandra(t *testing.T) {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	hosts := stackenv.Split(env[stackenv.CassandraHosts])
	dc := env[stackenv.CassandraDC]

	cluster := gocql.NewCluster(hosts...)
	// Hosts discovered from system tables get cluster.Port; the stack does not use 9042.
	if _, port, err := net.SplitHostPort(hosts[0]); err == nil {
		if p, err := strconv.Atoi(port); err == nil {
			cluster.Port = p
		}
	}
	cluster.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(dc))
	cluster.Consistency = gocql.LocalQuorum
	cluster.Timeout = 10 * time.Second
	cluster.ConnectTimeout = 10 * time.Second
	session, err := cluster.CreateSession()
	if err != nil {
		t.Fatalf("connect to Cassandra at %v: %v", hosts, err)
	}
	// Cleanups run last-in, first-out: the keyspace is dropped before this closes.
	t.Cleanup(session.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var release string
	if err := session.Query(`SELECT release_version FROM system.local`).ScanContext(ctx, &release); err != nil {
		t.Fatalf("read release_version: %v", err)
	}
	t.Logf("Cassandra %s, local DC %s", release, dc)

	// Identifiers cannot be bind markers, so the DDL is built with Sprintf; the
	// keyspace name is generated here and the DC comes from up.sh's env file.
	ks := uniqueName(t, "stacktest_")
	ddl := fmt.Sprintf(`CREATE KEYSPACE %s WITH replication = {'class': 'NetworkTopologyStrategy', '%s': 1}`, ks, dc)
	if err := session.Query(ddl).ExecContext(ctx); err != nil {
		t.Fatalf("create keyspace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := session.Query(`DROP KEYSPACE IF EXISTS ` + ks).ExecContext(ctx); err != nil {
			t.Errorf("drop keyspace %s: %v", ks, err)
		}
	})

	table := ks + ".messages"
	if err := session.Query(`CREATE TABLE ` + table + ` (
		channel_id bigint, message_id bigint, author_id bigint, body text,
		PRIMARY KEY ((channel_id), message_id)
	) WITH CLUSTERING ORDER BY (message_id DESC)`).ExecContext(ctx); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if err := session.AwaitSchemaAgreement(ctx); err != nil {
		t.Fatalf("schema agreement: %v", err)
	}

	const channel = int64(42)
	insert := `INSERT INTO ` + table + ` (channel_id, message_id, author_id, body) VALUES (?, ?, ?, ?)`
	for i := int64(1); i <= 3; i++ {
		// Idempotent: fixed values with client-chosen IDs, so a retry cannot duplicate.
		err := session.Query(insert, channel, i, int64(7), fmt.Sprintf("hello %d", i)).
			Consistency(gocql.LocalQuorum).Idempotent(true).ExecContext(ctx)
		if err != nil {
			t.Fatalf("insert message %d: %v", i, err)
		}
	}

	var author int64
	var body string
	err = session.Query(`SELECT author_id, body FROM `+table+` WHERE channel_id = ? AND message_id = ?`, channel, int64(2)).
		Consistency(gocql.LocalQuorum).Idempotent(true).ScanContext(ctx, &author, &body)
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	if author != 7 || body != "hello 2" {
		t.Errorf("read back author=%d body=%q, want 7 %q", author, body, "hello 2")
	}

	// Newest first, thanks to the clustering order.
	iter := session.Query(`SELECT message_id FROM `+table+` WHERE channel_id = ?`, channel).
		Consistency(gocql.LocalQuorum).Idempotent(true).IterContext(ctx)
	var ids []int64
	var id int64
	for iter.Scan(&id) {
		ids = append(ids, id)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("read channel: %v", err)
	}
	if fmt.Sprint(ids) != "[3 2 1]" {
		t.Errorf("message ids %v, want [3 2 1]", ids)
	}
}
