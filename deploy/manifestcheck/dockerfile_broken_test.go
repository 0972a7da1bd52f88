package manifestcheck

import (
	"context"
	"os"
	"strings"
	"testing"
)

// mutated returns the repository's gateway Dockerfile with old replaced by
// new; it fails when old is absent, so a fixture never silently stops
// testing anything.
func mutated(t *testing.T, name, old, new string) []byte {
	t.Helper()
	data, err := os.ReadFile(deployPath(t, "docker", name+".Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("fixture: %q is not in %s.Dockerfile", old, name)
	}
	return []byte(strings.Replace(string(data), old, new, 1))
}

func TestBrokenDockerfilesAreRejected(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"root user", "USER 65532:65532", "USER root", "non-root USER"},
		{"no user", "USER 65532:65532\n", "", "non-root USER"},
		{"shell health check", `CMD ["/usr/local/bin/parleyctl", "health", "http://127.0.0.1:7100/healthz"]`, "CMD /usr/local/bin/parleyctl health http://127.0.0.1:7100/healthz", "exec form"},
		{"health check binary not shipped", "COPY --from=build /out/gateway /out/parleyctl /usr/local/bin/", "COPY --from=build /out/gateway /usr/local/bin/", "does not contain"},
		{"fat runtime base", "gcr.io/distroless/static-debian12:nonroot", "debian:12", "not distroless"},
		{"unpinned runtime base", "gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/static-debian12:latest", "pinned"},
		{"cgo on", "CGO_ENABLED=0", "CGO_ENABLED=1", "CGO_ENABLED=0"},
		{"shell entrypoint", `ENTRYPOINT ["/usr/local/bin/gateway"]`, "ENTRYPOINT /usr/local/bin/gateway", "exec form"},
		{"context files in the runtime image", "WORKDIR /var/lib/parley\n", "WORKDIR /var/lib/parley\nCOPY gateway/ /app/\n", "build context"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			df, err := ParseDockerfile("broken", mutated(t, "gateway", c.old, c.new))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckDockerfile(df)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestDockerfileSyntaxErrorsAreRejected(t *testing.T) {
	for name, text := range map[string]string{
		"unknown instruction": "FROM scratch\nCOPPY a b\n",
		"bad COPY flag":       "FROM scratch\nCOPY --chwn=1 a b\n",
	} {
		if _, err := ParseDockerfile(name, []byte(text)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestDockerfileMissingSharedFailsBothChecks(t *testing.T) {
	root := repoRoot(t)
	work, err := WorkModules(root)
	if err != nil {
		t.Fatal(err)
	}
	df, err := ParseDockerfile("no-shared", mutated(t, "gateway", "COPY shared/ shared/\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckModuleCopies(root, df, work); err == nil || !strings.Contains(err.Error(), "needs module shared") {
		t.Errorf("CheckModuleCopies = %v, want shared reported missing", err)
	}
	ignore, err := ReadIgnoreFile(deployPath(t, "docker", "gateway.Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	if err := SimulateBuild(context.Background(), root, df, ignore); err == nil {
		t.Error("the build stage resolved without shared's sources")
	}
}

func TestIgnoreFileHidingSourcesFailsTheBuild(t *testing.T) {
	root := repoRoot(t)
	df, err := ParseDockerfile("gateway", mutated(t, "gateway", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := SimulateBuild(context.Background(), root, df, []string{"gateway/internal/hub"}); err == nil {
		t.Error("the build stage resolved with gateway/internal/hub excluded from the context")
	}
}

func TestWorkspaceBuildMustCopyEveryWorkModule(t *testing.T) {
	root := repoRoot(t)
	work, err := WorkModules(root)
	if err != nil {
		t.Fatal(err)
	}
	df, err := ParseDockerfile("allinone", mutated(t, "allinone", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckModuleCopies(root, df, append(work, "newsvc"))
	if err == nil || !strings.Contains(err.Error(), "newsvc/go.mod") {
		t.Fatalf("err = %v, want newsvc/go.mod reported missing", err)
	}
}
