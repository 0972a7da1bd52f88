package http_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
)

// runCleanup runs one pass as an admin and returns the report.
func (e *env) runCleanup() reply {
	e.t.Helper()
	r := e.call("POST", "/admin/cleanup", as(newUser("admin")))
	check(e.t, r, 200, "")
	return r
}

func TestCleanupDeletesAnUnattachedUploadOlderThanTheAge(t *testing.T) {
	for _, backend := range []string{local, minIO} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, withBackend(backend))
			alice := newUser()
			orphan := e.upload(alice, zipLike(10_000), "orphan.zip")
			attached := e.upload(alice, zipLike(20_000), "kept.zip")
			check(t, e.attach(alice, "d:1:2/10", attached), 200, "")
			e.clock.Add(20 * time.Hour)
			young := e.upload(alice, zipLike(30_000), "young.zip")
			e.clock.Add(5 * time.Hour)

			rep := e.runCleanup()
			if rep.str("media") != "1" || rep.str("blobs") != "1" || rep.str("bytes") != "10000" || rep.str("errors") != "0" {
				t.Fatalf("report = %s", rep.raw)
			}
			check(t, e.call("GET", "/"+orphan, as(alice)), 404, "not_found")
			check(t, e.call("GET", "/"+attached, as(alice)), 200, "")
			check(t, e.call("GET", "/"+young, as(alice)), 200, "")
			if keys := e.objectKeys(); !slices.Equal(keys, []string{"o/" + attached, "o/" + young}) {
				t.Fatalf("objects = %v", keys)
			}
			if got := e.metric(`mediasvc_cleanup_deleted_total{kind="media"}`); got != "1" {
				t.Fatalf("deleted media metric = %q", got)
			}
			if got := e.metric("mediasvc_cleanup_deleted_bytes_total"); got != "10000" {
				t.Fatalf("deleted bytes metric = %q", got)
			}
			// The young one goes when its own time comes; a second pass over
			// the same window changes nothing else.
			e.clock.Add(20 * time.Hour)
			if rep := e.runCleanup(); rep.str("media") != "1" {
				t.Fatalf("second pass = %s", rep.raw)
			}
			check(t, e.call("GET", "/"+young, as(alice)), 404, "not_found")
			check(t, e.call("GET", "/"+attached, as(alice)), 200, "")
		})
	}
}

func TestCleanupKeepsASharedBlobUntilItsLastReferenceGoes(t *testing.T) {
	e := newEnv(t)
	alice, bob := newUser(), newUser()
	data := zipLike(5000)
	first := e.upload(alice, data, "")
	second := e.upload(bob, data, "")
	check(t, e.attach(bob, "d:1:2/11", second), 200, "")
	e.clock.Add(25 * time.Hour)
	if rep := e.runCleanup(); rep.str("media") != "1" || rep.str("blobs") != "0" {
		t.Fatalf("report = %s", rep.raw)
	}
	check(t, e.call("GET", "/"+first, as(alice)), 404, "not_found")
	// The first upload's bytes are the blob's: they stay for the second.
	c := e.call("GET", "/"+second+"/content", as(bob))
	check(t, c, 200, "")
	if !bytes.Equal(c.raw, data) {
		t.Fatal("content changed")
	}
	// The message goes away: the media is an orphan, and then the blob.
	check(t, e.call("POST", "/detach", fromMessagesvc(), jsonBody(map[string]any{"media_ids": []string{second},
		"message": map[string]string{"conversation_id": "d:1:2", "message_id": "11"}})), 204, "")
	e.clock.Add(time.Minute)
	if rep := e.runCleanup(); rep.str("media") != "1" || rep.str("blobs") != "1" {
		t.Fatalf("report after detach = %s", rep.raw)
	}
	if keys := e.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
	if _, err := e.meta.Blob(context.Background(), sha(data)); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("blob left: %v", err)
	}
}

func TestCleanupDeletesAnAbandonedPresignedUpload(t *testing.T) {
	e := newEnv(t, withBackend(minIO))
	alice := newUser()
	data := mp4Like(10_000)
	r := e.createUpload(alice, len(data), sha(data))
	e.put(r, data)
	id := r.str("media", "id")
	e.clock.Add(25 * time.Hour)
	if rep := e.runCleanup(); rep.str("pending") != "1" || rep.str("objects") != "1" {
		t.Fatalf("report = %s", rep.raw)
	}
	if keys := e.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
	check(t, e.call("POST", "/"+id+"/finalize", as(alice)), 404, "not_found")
	// After the tombstone retention the record itself is purged.
	e.clock.Add(31 * 24 * time.Hour)
	if rep := e.runCleanup(); rep.str("tombstones") != "1" {
		t.Fatalf("report = %s", rep.raw)
	}
	if _, err := e.meta.Media(context.Background(), mustID(t, id)); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("tombstone left: %v", err)
	}
}

func TestCleanupRemovesTheBytesOfAnUploadThatNeverMadeARecord(t *testing.T) {
	e := newEnv(t)
	// What a crash between storing the bytes and writing the record leaves.
	id := users.Next()
	ctx := context.Background()
	if err := e.meta.ScheduleCheck(ctx, entity.Check{Due: e.clock.Now().Add(24 * time.Hour), Kind: entity.CheckMedia, Key: id.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.objects.Put(ctx, entity.ObjectKey(id), strings.NewReader("half"), 4, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(25 * time.Hour)
	if rep := e.runCleanup(); rep.str("objects") != "1" {
		t.Fatalf("report = %s", rep.raw)
	}
	if keys := e.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
}

func TestCleanupFailureIsRetriedByTheNextPass(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	orphan := e.upload(alice, zipLike(1000), "")
	e.clock.Add(25 * time.Hour)
	e.objects.(*flakyObjects).fail.Store(true) // the object store goes away mid-pass
	rep := e.runCleanup()
	if rep.str("errors") != "1" || rep.str("blobs") != "0" {
		t.Fatalf("report with the store down = %s", rep.raw)
	}
	check(t, e.call("GET", "/"+orphan, as(alice)), 404, "not_found")
	e.objects.(*flakyObjects).fail.Store(false)
	e.clock.Add(10 * time.Minute)
	if rep := e.runCleanup(); rep.str("errors") != "0" || rep.str("blobs") != "1" {
		t.Fatalf("report of the next pass = %s", rep.raw)
	}
	if keys := e.objectKeys(); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
}
