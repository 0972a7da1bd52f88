package http_test

import (
	"context"
	"encoding/json"
	"io"
	gohttp "net/http"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
)

// rosterSize is the group the hot read is measured on.
const rosterSize = 1000

// bigGroup makes a group of rosterSize members through the API.
func bigGroup(b *testing.B, e *env) ids.ID {
	b.Helper()
	u := e.users(rosterSize)
	g := e.create(u[0])
	e.must(200, as{user: u[0]}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": rosterSize})
	for i := 1; i < rosterSize; i += 100 {
		e.must(200, as{user: u[0]}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(u[i:min(i+100, rosterSize)]...)})
	}
	return g
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRoster is messagesvc's read on every group send: GET
// /internal/v1/rosters/{group} of a 1,000-member group over HTTP with a
// service token, decoded as messagesvc decodes it. cpu-ms/op is this
// process's CPU (client, groupsvc, driver), not Cassandra's.
func BenchmarkRoster(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []option
	}{{"embedded", []option{withLimits(50, rosterSize)}}, {"cassandra", []option{withLimits(50, rosterSize), withCassandra()}}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, c.opts...)
			g := bigGroup(b, e)
			tok, _ := e.signer.Token()
			url := e.srv.URL + "/internal/v1/rosters/" + g.String()
			client := &gohttp.Client{Transport: &gohttp.Transport{MaxIdleConnsPerHost: 64}}
			get := func() {
				req, _ := gohttp.NewRequestWithContext(context.Background(), "GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var r groupapi.Roster
				err = json.NewDecoder(resp.Body).Decode(&r)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || len(r.Members) != rosterSize {
					b.Fatalf("roster: %d members, %v", len(r.Members), err)
				}
			}
			raw := func(path string) {
				req, _ := gohttp.NewRequestWithContext(context.Background(), "GET", e.srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s = %d", path, resp.StatusCode)
				}
			}
			b.Run("undecoded", func(b *testing.B) { // groupsvc's side only: the body is not decoded
				cpu := processCPU()
				b.ResetTimer()
				for b.Loop() {
					raw("/internal/v1/rosters/" + g.String())
				}
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
			b.Run("member", func(b *testing.B) { // GET one member (groupapi.PathMember)
				ms, _ := e.store.Members(context.Background(), g, 0, 1)
				cpu := processCPU()
				b.ResetTimer()
				for b.Loop() {
					raw("/internal/v1/rosters/" + g.String() + "/members/" + ms[0].User.String())
				}
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
			b.Run("serial", func(b *testing.B) {
				cpu := processCPU()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					get()
				}
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
			b.Run("parallel", func(b *testing.B) {
				cpu := processCPU()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						get()
					}
				})
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
			b.Run("store", func(b *testing.B) { // the store read alone, no HTTP or JSON
				cpu := processCPU()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					ms, err := e.store.Members(context.Background(), g, 0, 0)
					if err != nil || len(ms) != rosterSize {
						b.Fatalf("members: %d, %v", len(ms), err)
					}
				}
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
		})
	}
}

// BenchmarkAddMember adds one existing user per operation through the API
// (the authsvc check against a fake, the conditional write, the index
// entry), serially, to a group with room.
func BenchmarkAddMember(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []option
	}{{"embedded", []option{withLimits(50, 100000)}}, {"cassandra", []option{withLimits(50, 100000), withCassandra()}}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, c.opts...)
			owner := e.user()
			g := e.create(owner)
			e.must(200, as{user: owner}, "PUT", gpath(g, "/limit"), map[string]any{"size_limit": 100000})
			cpu := processCPU()
			b.ResetTimer()
			for b.Loop() {
				e.must(200, as{user: owner}, "POST", gpath(g, "/members"), map[string]any{"users": ids2s(e.user())})
			}
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
		})
	}
}
