package http_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/shared/ids"
)

// A send that attached media and died before storing its message leaves a
// reference to a message that never existed; once it is older than the
// unsent age and messagesvc has no such message, the media is an orphan.
func TestCleanupDropsReferencesToMessagesNeverStored(t *testing.T) {
	e := newEnv(t, withBackend(minIO), withUnsentAge(72*time.Hour))
	alice := newUser()
	msg := func() string { return "d:1:2/" + ids.FromTime(e.clock.Now()).String() }
	unsent := e.upload(alice, zipLike(10_000), "unsent.zip")
	check(t, e.attach(alice, msg(), unsent), 200, "")
	e.clock.Add(time.Millisecond)
	sent := e.upload(alice, zipLike(20_000), "sent.zip")
	check(t, e.attach(alice, msg(), sent), 200, "")
	e.messages.allow(sent, alice.ID) // messagesvc has this message, from alice

	// Past the orphan age but not the unsent age: both are kept, and
	// messagesvc is not asked yet.
	e.clock.Add(25 * time.Hour)
	if rep := e.runCleanup(); rep.str("media") != "0" || rep.str("errors") != "0" {
		t.Fatalf("first pass = %s", rep.raw)
	}
	if n := e.messages.calls.Load(); n != 0 {
		t.Fatalf("messagesvc asked %d times before the unsent age", n)
	}
	// Past the unsent age: the reference to the message never stored goes,
	// and with it the media; the sent one stays.
	e.clock.Add(48 * time.Hour)
	if rep := e.runCleanup(); rep.str("media") != "1" || rep.str("errors") != "0" {
		t.Fatalf("second pass = %s", rep.raw)
	}
	check(t, e.call("GET", "/"+unsent, as(alice)), 404, "not_found")
	check(t, e.call("GET", "/"+sent, as(alice)), 200, "")
	if keys := e.objectKeys(); len(keys) != 1 || keys[0] != "o/"+sent {
		t.Fatalf("objects = %v", keys)
	}
}

func TestCleanupKeepsAttachedMediaWhileMessagesvcCannotAnswer(t *testing.T) {
	e := newEnv(t, withUnsentAge(72*time.Hour))
	alice := newUser()
	id := e.upload(alice, zipLike(10_000), "a.zip")
	check(t, e.attach(alice, "d:1:2/"+ids.FromTime(e.clock.Now()).String(), id), 200, "")
	e.downMessages()
	e.clock.Add(73 * time.Hour)
	if rep := e.runCleanup(); rep.str("media") != "0" || rep.str("errors") == "0" {
		t.Fatalf("pass with messagesvc down = %s", rep.raw)
	}
	check(t, e.call("GET", "/"+id, as(alice)), 200, "")
}
