package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/kittest"
	"github.com/parleychat/parley/shared/stackenv"
)

// groupsAdminBuild builds groupsvc next to the harness's binaries (unless
// the harness already built it).
var groupsAdminBuild struct {
	once sync.Once
	err  error
}

func groupsAdminBinary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(binary(t, "authsvc")), "groupsvc")
	groupsAdminBuild.once.Do(func() {
		if _, err := os.Stat(path); err == nil {
			return
		}
		wd, _ := os.Getwd()
		root, _ := stackenv.RepoRoot(wd)
		cmd := exec.Command("go", "build", "-o", path, "github.com/parleychat/parley/groupsvc/cmd/groupsvc")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			groupsAdminBuild.err = fmt.Errorf("build groupsvc: %v\n%s", err, out)
		}
	})
	if groupsAdminBuild.err != nil {
		t.Fatal(groupsAdminBuild.err)
	}
	return path
}

// groupsAdminPlatform is authsvc (embedded, with a bootstrapped admin),
// groupsvc on Cassandra and a gateway relaying /api/v1/groups.
type groupsAdminPlatform struct {
	gw                *kittest.Binary
	rootToken, rootID string
}

func startGroupsAdminPlatform(t *testing.T) *groupsAdminPlatform {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	authDir := t.TempDir()
	boot := exec.Command(binary(t, "authsvc"), "bootstrap-admin", "-username", "root", "-auth.data-dir="+authDir,
		"-auth.argon2.memory-kib=8192", "-auth.argon2.iterations=1")
	boot.Env = append(os.Environ(), "CHAT_INTERNAL_SECRET="+kittest.TestSecret, "CHAT_AUTH_BOOTSTRAP_PASSWORD=correct horse battery")
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("bootstrap-admin: %v\n%s", err, out)
	}
	auth := kittest.Start(t, binary(t, "authsvc"), []string{"-internal.addr=127.0.0.1:0", "-auth.data-dir=" + authDir,
		"-auth.argon2.memory-kib=8192", "-auth.argon2.iterations=1"}, "internal")
	keyspace := fmt.Sprintf("e2e_groups_%d", rand.Uint32())
	t.Cleanup(func() { dropKeyspace(t, env, keyspace) })
	groups := kittest.Start(t, groupsAdminBinary(t), []string{"-internal.addr=127.0.0.1:0",
		"-groups.store.backend=cassandra", "-groups.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-groups.cassandra.dc=" + env[stackenv.CassandraDC], "-groups.cassandra.keyspace=" + keyspace,
		"-groups.auth-url=" + auth.URL(), "-groups.messages-url=", "-groups.node-id=9"}, "internal")
	router := kittest.Start(t, binary(t, "router"), []string{"-internal.addr=127.0.0.1:0"}, "internal")
	gw := kittest.Start(t, binary(t, "gateway"), []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
		"-gateway.router-url=" + router.URL(), "-gateway.auth-url=" + auth.URL(), "-gateway.groups-url=" + groups.URL()},
		"public", "internal")
	p := &groupsAdminPlatform{gw: gw}
	p.rootToken, p.rootID = p.signIn(t, "root")
	return p
}

func (p *groupsAdminPlatform) register(t *testing.T, name string) string {
	code, out := publicCall(t, p.gw, "POST", "/api/v1/auth/register", "", map[string]string{
		"username": name, "password": "correct horse battery", "display_name": name})
	if code != 201 {
		t.Fatalf("register %s = %d %v", name, code, out)
	}
	return out["user"].(map[string]any)["id"].(string)
}

func (p *groupsAdminPlatform) signIn(t *testing.T, name string) (token, id string) {
	code, out := publicCall(t, p.gw, "POST", "/api/v1/auth/sign-in", "", map[string]string{
		"username": name, "password": "correct horse battery"})
	if code != 200 {
		t.Fatalf("sign-in %s = %d %v", name, code, out)
	}
	return out["access_token"].(string), out["user"].(map[string]any)["id"].(string)
}

func errDetails(out map[string]any) (code, limit, max string) {
	e, _ := out["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	code, _ = e["code"].(string)
	limit, _ = d["limit"].(string)
	max, _ = d["max"].(string)
	return
}

func TestGroupLimitsThroughTheGatewayOnCassandra(t *testing.T) {
	p := startGroupsAdminPlatform(t)
	p.register(t, "alice")
	alice, _ := p.signIn(t, "alice")
	var users []string
	for i := range 24 {
		users = append(users, p.register(t, fmt.Sprintf("member%02d", i)))
	}
	api := func(token, method, path string, body any) (int, map[string]any) {
		return publicCall(t, p.gw, method, "/api/v1/groups"+path, token, body)
	}

	// A group with an initial member; a user that does not exist is refused.
	if code, out := api(alice, "POST", "", map[string]any{"name": "x", "members": []string{"123456789"}}); code != 404 {
		t.Fatalf("create with a ghost = %d %v", code, out)
	}
	code, out := api(alice, "POST", "", map[string]any{"name": "Climbers", "members": users[:1]})
	if code != 201 {
		t.Fatalf("create = %d %v", code, out)
	}
	g := out["group"].(map[string]any)["id"].(string)

	// The per-group limit.
	if code, out := api(alice, "PUT", "/"+g+"/limit", map[string]any{"size_limit": 3}); code != 200 {
		t.Fatalf("set limit = %d %v", code, out)
	}
	if code, out := api(alice, "POST", "/"+g+"/members", map[string]any{"users": users[1:2]}); code != 200 {
		t.Fatalf("add to 3 = %d %v", code, out)
	}
	code, out = api(alice, "POST", "/"+g+"/members", map[string]any{"users": users[2:3]})
	if c, limit, max := errDetails(out); code != 422 || c != "limit_exceeded" || limit != "group" || max != "3" {
		t.Fatalf("add past the group limit = %d %v", code, out)
	}

	// The platform ceiling: admins only, audited; it caps every group.
	if code, _ := api(alice, "PUT", "/admin/limits", map[string]any{"ceiling": 4}); code != 403 {
		t.Fatalf("non-admin sets the ceiling = %d", code)
	}
	if code, out := api(p.rootToken, "PUT", "/admin/limits", map[string]any{"default_limit": 4, "ceiling": 4}); code != 200 || out["ceiling"] != 4.0 {
		t.Fatalf("admin sets the ceiling = %d %v", code, out)
	}
	code, out = api(alice, "PUT", "/"+g+"/limit", map[string]any{"size_limit": 10})
	if c, _, _ := errDetails(out); code != 400 || c != "invalid_argument" || out["error"].(map[string]any)["details"].(map[string]any)["max"] != "4" {
		t.Fatalf("group limit above the ceiling = %d %v", code, out)
	}
	if code, out := api(alice, "PUT", "/"+g+"/limit", map[string]any{"size_limit": 1}); code != 400 {
		t.Fatalf("group limit below 2 = %d %v", code, out)
	}
	if code, out := api(alice, "PUT", "/"+g+"/limit", map[string]any{"size_limit": 4}); code != 200 {
		t.Fatalf("group limit 4 = %d %v", code, out)
	}
	if code, out := api(alice, "POST", "/"+g+"/members", map[string]any{"users": users[2:3]}); code != 200 {
		t.Fatalf("add to 4 = %d %v", code, out)
	}
	if code, out := api(p.rootToken, "PUT", "/admin/limits", map[string]any{"ceiling": 3, "default_limit": 3}); code != 200 {
		t.Fatalf("lower the ceiling = %d %v", code, out)
	}
	code, out = api(alice, "POST", "/"+g+"/members", map[string]any{"users": users[3:4]})
	if c, limit, max := errDetails(out); code != 422 || c != "limit_exceeded" || limit != "platform" || max != "3" {
		t.Fatalf("add past the ceiling = %d %v", code, out)
	}
	code, out = api(alice, "GET", "/"+g+"/members", nil)
	if code != 200 || len(out["members"].([]any)) != 4 {
		t.Fatalf("a lowered ceiling evicted someone: %d %v", code, out)
	}
	code, out = api(p.rootToken, "GET", "/admin/audit", nil)
	if code != 200 || len(out["entries"].([]any)) != 4 {
		t.Fatalf("audit = %d %v", code, out)
	}
	// Newest first; one change's entries are ordered default_limit, then ceiling.
	newest, next := out["entries"].([]any)[0].(map[string]any), out["entries"].([]any)[1].(map[string]any)
	if newest["field"] != "ceiling" || newest["old"] != 4.0 || newest["new"] != 3.0 || next["field"] != "default_limit" ||
		next["old"] != 4.0 || next["new"] != 3.0 || newest["actor"] != p.rootID || next["actor"] != p.rootID {
		t.Fatalf("newest audit entries = %v, %v", newest, next)
	}

	// Concurrent joins never pass the limit: 20 racing adds, room for 9.
	if code, out := api(p.rootToken, "PUT", "/admin/limits", map[string]any{"ceiling": 100}); code != 200 {
		t.Fatalf("raise the ceiling = %d %v", code, out)
	}
	code, out = api(alice, "POST", "", map[string]any{"name": "Race", "size_limit": 10})
	if code != 201 {
		t.Fatalf("create = %d %v", code, out)
	}
	race := out["group"].(map[string]any)["id"].(string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[int]int{}
	for _, u := range users[4:24] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := api(alice, "POST", "/"+race+"/members", map[string]any{"users": []string{u}})
			mu.Lock()
			defer mu.Unlock()
			answers[code]++
			if code != 200 && code != 422 {
				t.Errorf("racing add = %d %v", code, out)
			}
		}()
	}
	wg.Wait()
	code, out = api(alice, "GET", "/"+race+"/members?limit=100", nil)
	members := out["members"].([]any)
	code2, info := api(alice, "GET", "/"+race, nil)
	if code != 200 || code2 != 200 || answers[200] != 9 || answers[422] != 11 || len(members) != 10 ||
		info["group"].(map[string]any)["member_count"] != 10.0 {
		t.Fatalf("racing adds: answers %v, %d members, group %v", answers, len(members), info)
	}
}

// TestGroupChangesReachMessagesvcAsSystemMessages checks the event path
// between the real services: groupsvc's outbox posts each change to
// messagesvc, which stores it in the group conversation in order.
func TestGroupChangesReachMessagesvcAsSystemMessages(t *testing.T) {
	env := stackenv.Require(t, stackenv.CassandraHosts, stackenv.CassandraDC)
	auth := startAuth(t)
	router := kittest.Start(t, binary(t, "router"), []string{"-internal.addr=127.0.0.1:0"}, "internal")
	groupsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	messages := kittest.Start(t, binary(t, "messagesvc"), []string{"-internal.addr=127.0.0.1:0",
		"-messages.data-dir=" + t.TempDir(), "-messages.node-id=11", "-messages.router-url=" + router.URL(),
		"-messages.auth-url=" + auth.URL(), "-messages.groups-url=http://" + groupsAddr}, "internal")
	keyspace := fmt.Sprintf("e2e_groupevents_%d", rand.Uint32())
	t.Cleanup(func() { dropKeyspace(t, env, keyspace) })
	groups := kittest.Start(t, groupsAdminBinary(t), []string{"-internal.addr=" + groupsAddr,
		"-groups.store.backend=cassandra", "-groups.cassandra.hosts=" + env[stackenv.CassandraHosts],
		"-groups.cassandra.dc=" + env[stackenv.CassandraDC], "-groups.cassandra.keyspace=" + keyspace,
		"-groups.auth-url=" + auth.URL(), "-groups.messages-url=" + messages.URL(), "-groups.node-id=10"}, "internal")
	gw := kittest.Start(t, binary(t, "gateway"), []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0",
		"-gateway.router-url=" + router.URL(), "-gateway.auth-url=" + auth.URL(), "-gateway.groups-url=" + groups.URL(),
		"-gateway.messages-url=" + messages.URL()}, "public", "internal")
	p := &groupsAdminPlatform{gw: gw}
	p.register(t, "alice")
	bobID := p.register(t, "bob")
	carolID := p.register(t, "carol")
	alice, _ := p.signIn(t, "alice")
	bob, _ := p.signIn(t, "bob")

	code, out := publicCall(t, gw, "POST", "/api/v1/groups", alice, map[string]any{"name": "Lunch", "members": []string{bobID}})
	if code != 201 {
		t.Fatalf("create = %d %v", code, out)
	}
	g := out["group"].(map[string]any)["id"].(string)
	for _, step := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"PATCH", "/" + g, map[string]any{"name": "Lunch crew"}, 200},
		{"POST", "/" + g + "/members", map[string]any{"users": []string{carolID}}, 200},
		{"DELETE", "/" + g + "/members/" + carolID, nil, 204},
	} {
		if code, out := publicCall(t, gw, step.method, "/api/v1/groups"+step.path, alice, step.body); code != step.want {
			t.Fatalf("%s %s = %d %v", step.method, step.path, code, out)
		}
	}
	want := []string{"group_created", "group_renamed", "member_added", "member_removed"}
	var kinds []string
	eventually(t, 15*time.Second, "system messages in the group's history", func() bool {
		code, out := publicCall(t, gw, "GET", "/api/v1/messages/conversations/g:"+g+"/history?limit=50", bob, nil)
		if code != 200 {
			return false
		}
		kinds = kinds[:0]
		msgs, _ := out["messages"].([]any)
		for _, m := range msgs { // ascending ids: the order the changes were made
			kinds = append(kinds, m.(map[string]any)["kind"].(string))
		}
		return slices.Equal(kinds, want)
	})
}
