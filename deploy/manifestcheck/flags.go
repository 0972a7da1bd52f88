package manifestcheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// envInHelp matches the variable kit's usage prints after each flag:
// "  -gateway.region (CHAT_GATEWAY_REGION)".
var envInHelp = regexp.MustCompile(`\((CHAT_[A-Z0-9_]+)\)`)

// FlagEnvironment builds the main packages (paths relative to root, built
// in workspace mode, in one go command so they link in parallel) into a
// temporary directory, runs each with -h and returns, per binary name (the
// package's last element), the CHAT_* variables it reads. A variable a
// deployment sets that its binary does not read is silently ignored at run
// time (the service runs on the default instead), so the checks compare
// against this.
func FlagEnvironment(ctx context.Context, root string, mains []string) (map[string]map[string]bool, error) {
	dir, err := os.MkdirTemp("", "flagenv-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// -s -w: no symbol table or DWARF, which makes the links much faster.
	args := []string{"build", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, m := range mains {
		args = append(args, "./"+m)
	}
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %v: %v\n%s", mains, err, msg)
	}
	out := map[string]map[string]bool{}
	for _, m := range mains {
		name := filepath.Base(m)
		var help bytes.Buffer
		run := exec.CommandContext(ctx, filepath.Join(dir, name), "-h")
		run.Stdout, run.Stderr = &help, &help
		run.Env = []string{"PATH=" + os.Getenv("PATH")} // no CHAT_* from this environment
		_ = run.Run()                                   // -h exits non-zero with some flag packages
		vars := map[string]bool{}
		for _, m := range envInHelp.FindAllStringSubmatch(help.String(), -1) {
			vars[m[1]] = true
		}
		if len(vars) < 5 {
			return nil, fmt.Errorf("%s -h listed %d variables; is the usage format still \"-flag (CHAT_…)\"?\n%s", name, len(vars), help.String())
		}
		out[name] = vars
	}
	return out, nil
}

// UnknownVariables returns the CHAT_* names in vars that known lacks.
func UnknownVariables(vars []string, known map[string]bool) []string {
	var out []string
	for _, v := range vars {
		if strings.HasPrefix(v, "CHAT_") && !known[v] {
			out = append(out, v)
		}
	}
	return out
}
