package manifestcheck

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// services are the images every deployment runs, one Dockerfile each.
var services = []string{"gateway", "authsvc", "messagesvc", "receiptsvc", "groupsvc", "mediasvc", "router"}

func dockerfiles(t *testing.T) map[string]*Dockerfile {
	t.Helper()
	names, err := filepath.Glob(deployPath(t, "docker", "*.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Dockerfile{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		df, err := ParseDockerfile(filepath.Base(n), data)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(n), ".Dockerfile")] = df
	}
	for _, want := range append(slices.Clone(services), "allinone") {
		if out[want] == nil {
			t.Errorf("deploy/docker/%s.Dockerfile is missing", want)
		}
	}
	return out
}

func TestDockerfilesAreWellFormedMinimalAndNonRoot(t *testing.T) {
	for name, df := range dockerfiles(t) {
		if err := CheckDockerfile(df); err != nil {
			t.Errorf("%s:\n%v", name, err)
		}
	}
}

func TestDockerfilesCopyTheModulesTheyBuild(t *testing.T) {
	root := repoRoot(t)
	work, err := WorkModules(root)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for name, df := range dockerfiles(t) {
		if err := CheckModuleCopies(root, df, work); err != nil {
			t.Errorf("%s:\n%v", name, err)
		}
		for _, m := range CopiedModules(df, work) {
			covered[m] = true
		}
		built, err := BuiltModules(root, df)
		if err != nil {
			t.Fatal(err)
		}
		if name != "allinone" && !slices.Contains(built, name) {
			t.Errorf("%s.Dockerfile builds %v, not the %s module", name, built, name)
		}
	}
	for _, m := range work {
		if !covered[m] {
			t.Errorf("go.work lists %s, but no Dockerfile copies it", m)
		}
	}
}

// TestDockerfilesBuildStageResolves replays each build stage into a
// temporary tree (ignore file honoured) and resolves its packages offline.
func TestDockerfilesBuildStageResolves(t *testing.T) {
	root := repoRoot(t)
	for name, df := range dockerfiles(t) {
		t.Run(name, func(t *testing.T) {
			ignore, err := ReadIgnoreFile(deployPath(t, "docker", name+".Dockerfile.dockerignore"))
			if err != nil {
				t.Fatalf("every Dockerfile has its own ignore file (BuildKit reads <name>.Dockerfile.dockerignore): %v", err)
			}
			if err := SimulateBuild(context.Background(), root, df, ignore); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBuildScriptBuildsEveryImage(t *testing.T) {
	script, err := os.ReadFile(deployPath(t, "docker", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range dockerfiles(t) {
		if name == "allinone" {
			if !strings.Contains(string(script), "deploy/docker/allinone.Dockerfile") {
				t.Error("build.sh does not build allinone.Dockerfile")
			}
			continue
		}
		if !regexp.MustCompile(`services=\([^)]*\b` + name + `\b`).Match(script) {
			t.Errorf("build.sh does not list %s in services=(…)", name)
		}
	}
}
