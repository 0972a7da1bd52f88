package manifestcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunbookMatchesTheRepository keeps the runbook followable: every file
// it names exists, the drain it describes is the one the gateway's preStop
// hook runs, and the end-to-end drain test it cites exists.
func TestRunbookMatchesTheRepository(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(deployPath(t, "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	runbook := string(data)
	paths := regexp.MustCompile(`deploy/[A-Za-z0-9_./-]+[A-Za-z0-9_]`).FindAllString(runbook, -1)
	if len(paths) < 10 {
		t.Fatalf("found only %d deploy/ paths in the runbook", len(paths))
	}
	for _, p := range paths {
		if strings.Contains(p, "ap-south") { // the example of a region to add
			continue
		}
		if _, isService := InternalPorts[strings.TrimPrefix(p, "deploy/")]; isService {
			continue // kubectl's deploy/<name>, a Deployment
		}
		if strings.HasSuffix(p, ".env") {
			p += ".example" // made from the example, kept out of git
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			t.Errorf("the runbook names %s, which does not exist", p)
		}
	}

	objs, err := Build(k8sTree(t), deployPath(t, "k8s", "overlays", "eu-west"))
	if err != nil {
		t.Fatal(err)
	}
	var preStop []string
	for _, o := range objs {
		if pod, ok := podSpec(o); ok && o.Name == "gateway" {
			preStop = pod.Containers[0].Lifecycle.PreStop.Exec.Command
		}
	}
	hook := "parleyctl drain " + strings.Join(preStop[2:], " ")
	if !strings.Contains(runbook, hook) {
		t.Errorf("the runbook does not show the preStop command %q", hook)
	}
	for _, name := range []string{"terminationGracePeriodSeconds: 60", "-wait 35s"} {
		if !strings.Contains(runbook, name) {
			t.Errorf("the runbook does not state %q", name)
		}
	}

	cited := regexp.MustCompile(`Test[A-Za-z]*Drain[A-Za-z]*`).FindAllString(runbook, -1)
	if len(cited) == 0 {
		t.Fatal("the runbook cites no drain test")
	}
	e2e, _ := filepath.Glob(filepath.Join(root, "deploy", "e2e", "*_test.go"))
	var all strings.Builder
	for _, f := range e2e {
		b, _ := os.ReadFile(f)
		all.Write(b)
	}
	for _, c := range cited {
		if !strings.Contains(all.String(), "func "+c+"(") {
			t.Errorf("the runbook cites %s, which deploy/e2e does not define", c)
		}
	}
}
