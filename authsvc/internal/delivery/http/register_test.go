package http_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

func TestRegister201(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/register", map[string]string{"username": "Alice", "password": goodPass, "display_name": "  Alice A.  "})
	e.expect(r, 201, "")
	if r.str("user", "username") != "alice" || r.str("user", "display_name") != "Alice A." || r.str("user", "id") == "" {
		t.Fatalf("body = %s", r.raw)
	}
	if strings.Contains(string(r.raw), "argon2") || strings.Contains(string(r.raw), goodPass) {
		t.Fatal("response leaks the password or its hash")
	}
	a, err := e.account("alice")
	if err != nil || a.ID.String() != r.str("user", "id") {
		t.Fatalf("stored account: %+v, %v", a, err)
	}
	if !strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$") || strings.Contains(a.PasswordHash, goodPass) {
		t.Fatalf("stored hash %q is not an Argon2id PHC string", a.PasswordHash)
	}
}

func TestRegisterDuplicate409(t *testing.T) {
	e := newEnv(t)
	first := e.register("bob")
	r := e.call("POST", "/register", map[string]string{"username": "BOB", "password": "another password", "display_name": "Impostor"})
	e.expect(r, 409, "already_exists")
	a, _ := e.account("bob")
	if a.ID.String() != first || a.DisplayName != "User bob" {
		t.Fatalf("duplicate changed the account: %+v", a)
	}
}

func TestRegisterBadInput400(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("é", 65)
	cases := []struct {
		name, body, code, username string
	}{
		{"malformed JSON", `{"username":"carol",`, "invalid_argument", "carol"},
		{"trailing data", `{"username":"carol","password":"` + goodPass + `","display_name":"C"} {}`, "invalid_argument", "carol"},
		{"unknown field", `{"username":"carol","password":"` + goodPass + `","display_name":"C","roles":["admin"]}`, "invalid_argument", "carol"},
		{"missing username", `{"password":"` + goodPass + `","display_name":"C"}`, "invalid_argument", ""},
		{"missing password", `{"username":"carol","display_name":"C"}`, "invalid_argument", "carol"},
		{"missing display name", `{"username":"carol","password":"` + goodPass + `"}`, "invalid_argument", "carol"},
		{"username too short", `{"username":"ab","password":"` + goodPass + `","display_name":"C"}`, "invalid_argument", "ab"},
		{"username too long", `{"username":"` + strings.Repeat("c", 33) + `","password":"` + goodPass + `","display_name":"C"}`, "invalid_argument", strings.Repeat("c", 33)},
		{"username bad char", `{"username":"carol!","password":"` + goodPass + `","display_name":"C"}`, "invalid_argument", "carol!"},
		{"username starts with digit", `{"username":"1carol","password":"` + goodPass + `","display_name":"C"}`, "invalid_argument", "1carol"},
		{"username not UTF-8", "{\"username\":\"car\xffol\",\"password\":\"" + goodPass + "\",\"display_name\":\"C\"}", "invalid_argument", "car\xffol"},
		{"display name too long", `{"username":"carol","password":"` + goodPass + `","display_name":"` + long + `"}`, "invalid_argument", "carol"},
		{"display name control char", `{"username":"carol","password":"` + goodPass + `","display_name":"C\u0007"}`, "invalid_argument", "carol"},
		{"display name not UTF-8", "{\"username\":\"carol\",\"password\":\"" + goodPass + "\",\"display_name\":\"C\xfe\"}", "invalid_argument", "carol"},
		{"display name blank", `{"username":"carol","password":"` + goodPass + `","display_name":"   "}`, "invalid_argument", "carol"},
		{"weak password", `{"username":"carol","password":"short1234","display_name":"C"}`, "invalid_argument", "carol"},
		{"password is username", `{"username":"carolcarol","password":"CarolCarol","display_name":"C"}`, "invalid_argument", "carolcarol"},
		{"4 KiB password", `{"username":"carol","password":"` + strings.Repeat("p", 4096) + `","display_name":"C"}`, "invalid_argument", "carol"},
		{"password not UTF-8", "{\"username\":\"carol\",\"password\":\"pass\xffword-long\",\"display_name\":\"C\"}", "invalid_argument", "carol"},
		{"body above 8 KiB", `{"username":"carol","password":"` + strings.Repeat("p", 9000) + `","display_name":"C"}`, "payload_too_large", "carol"},
		{"wrong JSON type", `{"username":42,"password":"` + goodPass + `","display_name":"C"}`, "invalid_argument", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("POST", "/register", nil, rawBody(c.body))
			if r.code() != c.code || r.message() == "" {
				t.Fatalf("got %d %s, want %s with a message", r.status, r.raw, c.code)
			}
			if c.username != "" {
				if _, err := e.account(strings.ToLower(c.username)); !errors.Is(err, entity.ErrNotFound) {
					t.Fatalf("bad request left an account behind: %v", err)
				}
			}
		})
	}
}

func TestRegisterConcurrentSameUsernameExactlyOne201(t *testing.T) {
	e := newEnv(t)
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.call("POST", "/register", map[string]string{"username": "dave", "password": goodPass, "display_name": "Dave"}).status
		}()
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
			conflicts++
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("statuses %v: want one 201 and %d 409", statuses, n-1)
	}
}

func TestRegisterWithoutServiceToken401(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/register", map[string]string{"username": "erin", "password": goodPass, "display_name": "E"}, withoutServiceToken())
	e.expect(r, 401, "unauthenticated")
	if _, err := e.account("erin"); !errors.Is(err, entity.ErrNotFound) {
		t.Fatal("unauthenticated caller created an account")
	}
}
