package e2etest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/shared/kit/kittest"
)

// result is the part of chatload's result.json the tests read.
type result struct {
	Counters map[string]int64   `json:"counters"`
	Figures  map[string]float64 `json:"figures"`
	Failures []string           `json:"failures"`
	Latency  map[string]struct {
		Count int64   `json:"count"`
		P99Ms float64 `json:"p99_ms"`
	} `json:"latency"`
	Processes []struct {
		Name       string  `json:"name"`
		CPUSeconds float64 `json:"cpu_s"`
	} `json:"processes"`
	Verdict struct {
		Expected  int64 `json:"expected_deliveries"`
		Delivered int64 `json:"delivered"`
		Lost      int64 `json:"lost"`
	} `json:"verdict"`
}

// chatload runs the tool against p and returns its exit code and result.
func chatload(t *testing.T, p *platform, args ...string) (int, result, string) {
	t.Helper()
	out := t.TempDir()
	base := []string{"-gateways=" + p.gatewayURLs(), "-accounts=" + filepath.Join(out, "accounts.jsonl"), "-out=" + out,
		"-user-prefix=u" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36), "-progress=1s", "-drain=20s",
		"-gateway-pids=" + pidList(p.gateways), "-pids=messagesvc=" + strconv.Itoa(p.messages.Pid()) + ",router=" + strconv.Itoa(p.router.Pid())}
	cmd := exec.Command(binary(t, "chatload"), append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r result
	data, rerr := os.ReadFile(filepath.Join(out, "result.json"))
	if rerr != nil {
		t.Fatalf("no result.json (exit %d): %v\n%s", code, rerr, stderr.String())
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if html, err := os.ReadFile(filepath.Join(out, "report.html")); err != nil || !strings.Contains(string(html), "<svg") {
		t.Errorf("report.html missing or without plots: %v", err)
	}
	t.Logf("chatload %v\n%s\ncounters %v", args, stderr.String(), r.Counters)
	return code, r, stderr.String()
}

func pidList(bs []*kittest.Binary) string {
	var s []string
	for _, b := range bs {
		s = append(s, strconv.Itoa(b.Pid()))
	}
	return strings.Join(s, ",")
}

// requireClean checks a messaging run: it succeeded, something was
// delivered, every acknowledged delivery arrived, nothing was seen twice
// under two ids.
func requireClean(t *testing.T, code int, r result, log string) {
	t.Helper()
	if code != 0 || len(r.Failures) > 0 {
		t.Fatalf("chatload exit %d, failures %v\n%s", code, r.Failures, log)
	}
	c := r.Counters
	if c["acked"] == 0 || c["acked"] != c["sent"] {
		t.Fatalf("sent %d, acked %d\n%s", c["sent"], c["acked"], log)
	}
	if r.Verdict.Expected == 0 || r.Verdict.Delivered < r.Verdict.Expected || r.Verdict.Lost != 0 {
		t.Fatalf("verdict %+v\n%s", r.Verdict, log)
	}
	if c["visible_duplicates"] != 0 {
		t.Fatalf("visible duplicates %d", c["visible_duplicates"])
	}
	if r.Latency["e2e"].Count != r.Verdict.Expected {
		t.Fatalf("e2e latencies %d, want one per delivery (%d)", r.Latency["e2e"].Count, r.Verdict.Expected)
	}
	if len(r.Processes) == 0 || r.Processes[0].CPUSeconds <= 0 {
		t.Errorf("no process CPU measured: %+v", r.Processes)
	}
}

func TestShortRuns(t *testing.T) {
	p := startPlatform(t, 2)

	t.Run("idle", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=idle", "-users=200", "-duration=4s", "-ping-every=1s", "-sources=127.0.0.2-127.0.0.5")
		if code != 0 || len(r.Failures) > 0 {
			t.Fatalf("exit %d failures %v\n%s", code, r.Failures, log)
		}
		if r.Figures["connections"] != 200 || r.Counters["connects"] != 200 {
			t.Fatalf("connections %v, connects %d", r.Figures["connections"], r.Counters["connects"])
		}
		if r.Latency["ping"].Count < 200 {
			t.Fatalf("pings %d, want ≥ 200", r.Latency["ping"].Count)
		}
	})

	t.Run("direct", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=direct", "-pairs=20", "-rate=100", "-duration=4s")
		requireClean(t, code, r, log)
		if r.Counters["received_receipts"] < r.Verdict.Expected {
			t.Fatalf("received receipts %d of %d", r.Counters["received_receipts"], r.Verdict.Expected)
		}
	})

	t.Run("direct-ramp-two-processes", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=direct", "-pairs=20", "-ramp=50,100", "-step=2s", "-settle=1s", "-procs=2")
		requireClean(t, code, r, log)
		if r.Figures["max_passing_rate"] != 100 {
			t.Fatalf("max passing rate %v, want 100 (both steps pass)\n%s", r.Figures["max_passing_rate"], log)
		}
	})

	t.Run("receipts", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=receipts", "-pairs=10", "-rate=50", "-duration=4s")
		requireClean(t, code, r, log)
		if r.Counters["reads_sent"] == 0 || r.Latency["read_receipt"].Count == 0 {
			t.Fatalf("reads %d, read receipts %d", r.Counters["reads_sent"], r.Latency["read_receipt"].Count)
		}
	})

	t.Run("group", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=group", "-groups=3", "-group-size=5", "-rate=30", "-duration=4s")
		requireClean(t, code, r, log)
		if r.Verdict.Expected != r.Counters["acked"]*4 {
			t.Fatalf("expected deliveries %d, want 4 per acked message (%d)", r.Verdict.Expected, r.Counters["acked"])
		}
	})

	t.Run("reconnect-drop", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=reconnect", "-reconnect.mode=drop", "-pairs=20", "-rate=100", "-duration=6s",
			"-warmup=2s", "-reconnect.timeout=20s")
		requireClean(t, code, r, log)
		if r.Figures["victims"] == 0 || r.Figures["victims_back"] != r.Figures["victims"] {
			t.Fatalf("victims %v back %v", r.Figures["victims"], r.Figures["victims_back"])
		}
	})

	t.Run("soak", func(t *testing.T) {
		code, r, log := chatload(t, p, "-scenario=soak", "-pairs=10", "-rate=40", "-duration=5s", "-soak.drop-every=2s", "-soak.drop-count=2")
		requireClean(t, code, r, log)
		if r.Counters["soak_drops"] == 0 || r.Counters["reconnects"] == 0 {
			t.Fatalf("drops %d reconnects %d", r.Counters["soak_drops"], r.Counters["reconnects"])
		}
	})
}

// TestReconnectAfterGatewayKill kills the gateway holding half the clients
// (SIGKILL, as a crash) and requires every client back on the other one,
// caught up and routed, with nothing lost.
func TestReconnectAfterGatewayKill(t *testing.T) {
	p := startPlatform(t, 2)
	code, r, log := chatload(t, p, "-scenario=reconnect", "-reconnect.mode=kill", "-reconnect.gateway=0",
		"-reconnect.pid="+strconv.Itoa(p.gateways[0].Pid()), "-pairs=20", "-rate=100", "-duration=6s", "-warmup=2s",
		"-reconnect.timeout=30s", "-gateway-pids="+strconv.Itoa(p.gateways[1].Pid()))
	requireClean(t, code, r, log)
	if r.Figures["victims"] == 0 || r.Figures["victims_back"] != r.Figures["victims"] {
		t.Fatalf("victims %v back %v\n%s", r.Figures["victims"], r.Figures["victims_back"], log)
	}
}
