package boltkit_test

import (
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/shared/kit/boltkit"
)

func TestOpenCreatesTheDirectoryAndBuckets(t *testing.T) {
	dir := t.TempDir() + "/nested/data"
	db, err := boltkit.Open(boltkit.Options{Dir: dir, File: "x.db", Service: "xsvc", Buckets: [][]byte{[]byte("a"), []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"a", "b"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("bucket %s missing", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestASecondOpenNamesTheLockHolder(t *testing.T) {
	dir := t.TempDir()
	opts := boltkit.Options{Dir: dir, File: "x.db", Service: "xsvc", OpenTimeout: 50 * time.Millisecond}
	db, err := boltkit.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = boltkit.Open(opts)
	if err == nil || !strings.Contains(err.Error(), "locked by another process (a running xsvc?)") {
		t.Fatalf("second open: %v", err)
	}
}

func TestOpenWithoutADirectoryFails(t *testing.T) {
	if _, err := boltkit.Open(boltkit.Options{File: "x.db"}); err == nil {
		t.Fatal("opened without a directory")
	}
}
