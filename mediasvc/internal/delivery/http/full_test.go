package http_test

import (
	"testing"
	"time"
)

// TestFullFlowOnMinIOAndCassandra runs the production backends end to end:
// streamed and presigned uploads deduplicated, attached to a 1:1 and a group
// message, read by the recipients, refused to others, and cleaned up.
func TestFullFlowOnMinIOAndCassandra(t *testing.T) {
	e := newEnv(t, withBackend(full))
	alice, bob, carol, mallory := newUser(), newUser(), newUser(), newUser()
	photo := pngImage(t, 640, 480)
	direct := e.upload(alice, photo, "photo.png")

	r := e.createUpload(alice, len(photo), sha(photo))
	check(t, r, 201, "")
	e.put(r, photo)
	group := r.str("media", "id")
	check(t, e.call("POST", "/"+group+"/finalize", as(alice)), 200, "")
	if keys := e.objectKeys(); len(keys) != 2 || keys[0] != "o/"+direct || keys[1] != "t/"+direct {
		t.Fatalf("objects = %v, want the one content and its thumbnail", keys)
	}

	check(t, e.attach(alice, "d:"+alice.ID+":"+bob.ID+"/1", direct), 200, "")
	check(t, e.attach(alice, "g:42/2", group), 200, "")
	e.messages.allow(direct, bob.ID)
	e.messages.allow(group, bob.ID)
	e.messages.allow(group, carol.ID)
	for _, c := range []struct {
		u      user
		id     string
		status int
	}{{bob, direct, 200}, {bob, group, 200}, {carol, group, 200}, {carol, direct, 404}, {mallory, group, 404}} {
		status, got, _ := e.fetch(e.call("GET", "/"+c.id+"/content", as(c.u)))
		if status != c.status || (status == 200 && sha(got) != sha(photo)) {
			t.Fatalf("user %s reading %s: %d, want %d", c.u.ID, c.id, status, c.status)
		}
	}
	status, _, _ := e.fetch(e.call("GET", "/"+group+"/thumbnail", as(carol)))
	if status != 200 {
		t.Fatalf("thumbnail for a group member: %d", status)
	}
	e.messages.revoke(group, carol.ID) // carol leaves the group
	check(t, e.call("GET", "/"+group+"/content", as(carol)), 404, "not_found")

	orphan := e.upload(alice, zipLike(4096), "")
	e.clock.Add(25 * time.Hour)
	if rep := e.runCleanup(); rep.str("media") != "1" || rep.str("errors") != "0" {
		t.Fatalf("cleanup = %s", rep.raw)
	}
	check(t, e.call("GET", "/"+orphan, as(alice)), 404, "not_found")
	check(t, e.call("GET", "/"+direct, as(bob)), 200, "")
}
