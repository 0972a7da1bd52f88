package manifestcheck

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	corev1 "k8s.io/api/core/v1"
)

// TestDeploymentsSetOnlyVariablesTheBinariesRead builds every service (and
// the all-in-one binary), reads the variables each one's -h lists, and
// checks every CHAT_* variable the Dockerfiles, the Kustomize overlays and
// the Compose file set against the binary that will read it.
func TestDeploymentsSetOnlyVariablesTheBinariesRead(t *testing.T) {
	root := repoRoot(t)
	work, err := WorkModules(root)
	if err != nil {
		t.Fatal(err)
	}
	var mains []string
	for _, s := range services {
		mains = append(mains, s+"/cmd/"+s)
	}
	if !slices.Contains(work, "allinone") {
		t.Fatal("go.work does not list allinone, which allinone.Dockerfile builds")
	}
	mains = append(mains, "allinone/cmd/parley")
	known, err := FlagEnvironment(context.Background(), root, mains)
	if err != nil {
		t.Fatal(err)
	}
	any := map[string]bool{}
	for _, vars := range known {
		for v := range vars {
			any[v] = true
		}
	}
	report := func(where string, vars []string, against map[string]bool) {
		t.Helper()
		if bad := UnknownVariables(vars, against); len(bad) > 0 {
			sort.Strings(bad)
			t.Errorf("%s sets %v, which its binary does not read", where, bad)
		}
	}

	for name, df := range dockerfiles(t) {
		bin := name
		if name == "allinone" {
			bin = "parley"
		}
		var vars []string
		for _, c := range df.Final() {
			if env, ok := c.(*instructions.EnvCommand); ok {
				for _, kv := range env.Env {
					vars = append(vars, kv.Key)
				}
			}
		}
		report(name+".Dockerfile", vars, known[bin])
	}

	fsys := k8sTree(t)
	for _, region := range overlays(t) {
		objs, err := Build(fsys, deployPath(t, "k8s", "overlays", region))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			switch obj := o.Typed.(type) {
			case *corev1.ConfigMap:
				var keys []string
				for k := range obj.Data {
					keys = append(keys, k)
				}
				report(region+" "+o.String(), keys, any)
			case *corev1.Secret:
				var keys []string
				for k := range obj.Data {
					keys = append(keys, k)
				}
				for k := range obj.StringData {
					keys = append(keys, k)
				}
				report(region+" "+o.String(), keys, any)
			}
		}
		for _, o := range objs {
			pod, ok := podSpec(o)
			if !ok {
				continue
			}
			for _, c := range pod.Containers {
				bin := parleyBinary(c.Image)
				if bin == "" {
					continue
				}
				var vars []string
				for _, e := range c.Env {
					vars = append(vars, e.Name)
				}
				report(region+" "+o.String()+" container "+c.Name, vars, known[bin])
			}
		}
	}

	p := loadComposeProject(t, composeFile(t))
	for name, s := range p.Services {
		if bin := parleyBinary(s.Image); bin != "" {
			report("compose service "+name, composeVars(s), known[bin])
		}
	}

	// The same check on a misspelt variable, so it is seen failing.
	broken := strings.Replace(string(composeFile(t)), "CHAT_MEDIA_S3_REDIRECT:", "CHAT_MEDIA_S3_REDIRECTS:", 1)
	bp := loadComposeProject(t, []byte(broken))
	if bad := UnknownVariables(composeVars(bp.Services["mediasvc"]), known["mediasvc"]); !slices.Equal(bad, []string{"CHAT_MEDIA_S3_REDIRECTS"}) {
		t.Errorf("misspelt variable: unknown = %v, want [CHAT_MEDIA_S3_REDIRECTS]", bad)
	}
}

func composeVars(s types.ServiceConfig) []string {
	var out []string
	for k := range s.Environment {
		out = append(out, k)
	}
	return out
}

func loadComposeProject(t *testing.T, data []byte) *types.Project {
	t.Helper()
	p, err := LoadCompose(context.Background(), filepath.Dir(deployPath(t, "compose", "compose.yaml")), "compose.yaml", data, composeTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
