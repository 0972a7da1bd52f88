package http_test

import (
	"testing"
)

func TestAttach200ReturnsTheAttachmentsOnce(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	img := e.upload(alice, pngImage(t, 40, 30), "a.png")
	txt := e.upload(alice, textOf(12), "b.txt")
	for range 2 { // a retried attach of the same message is the same
		r := e.attach(alice, "g:5/900", img, txt)
		check(t, r, 200, "")
		list, _ := r.body["attachments"].([]any)
		if len(list) != 2 {
			t.Fatalf("attachments = %s", r.raw)
		}
		first, _ := list[0].(map[string]any)
		if first["id"] != img || first["mime"] != "image/png" || first["width"] != 40.0 || first["height"] != 30.0 ||
			first["name"] != "a.png" || first["size"] == nil {
			t.Fatalf("first attachment = %v", first)
		}
	}
	m, _ := e.meta.Media(t.Context(), mustID(t, img))
	if len(m.Attachments) != 1 || m.Attachments[0] != "g:5/900" {
		t.Fatalf("references = %v, want the group message once", m.Attachments)
	}
}

func TestAttachByANonOwner403(t *testing.T) {
	e := newEnv(t)
	alice, mallory := newUser(), newUser()
	id := e.upload(alice, textOf(5), "")
	own := e.upload(mallory, textOf(6), "")
	r := e.attach(mallory, "d:1:2/3", own, id)
	check(t, r, 403, "permission_denied")
	if r.detail("media_id") != id {
		t.Fatalf("details = %s", r.raw)
	}
	// Nothing was attached, not even mallory's own media listed first.
	if m, _ := e.meta.Media(t.Context(), mustID(t, own)); m.Attached() {
		t.Fatal("a refused attach attached something")
	}
}

func TestAttachOfForgedOrUnknownIDs404(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	check(t, e.attach(alice, "d:1:2/3", users.Next().String()), 404, "not_found")
	check(t, e.attach(alice, "d:1:2/3", "12ab"), 400, "invalid_argument")
}

func TestAttachBadInput400AndFromTheGatewayRelay403(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	id := e.upload(alice, textOf(5), "")
	check(t, e.attach(alice, "bad conv/3", id), 400, "invalid_argument")
	check(t, e.attach(alice, "d:1:2/3", id, id), 400, "invalid_argument")
	check(t, e.attach(alice, "d:1:2/3"), 400, "invalid_argument")
	// A client reaching /api/v1/media/attach through the gateway must not
	// attach on anyone's behalf.
	r := e.call("POST", "/attach", as(alice), jsonBody(map[string]any{"user_id": alice.ID, "media_ids": []string{id},
		"message": map[string]string{"conversation_id": "d:1:2", "message_id": "3"}}))
	check(t, r, 403, "permission_denied")
	check(t, e.call("POST", "/detach", as(alice), jsonBody(map[string]any{})), 403, "permission_denied")
}
