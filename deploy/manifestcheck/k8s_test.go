package manifestcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func overlays(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(deployPath(t, "k8s", "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 2 {
		t.Fatalf("want an overlay per region (at least two), got %v", out)
	}
	return out
}

func k8sTree(t *testing.T) filesys.FileSystem {
	t.Helper()
	fsys, err := LoadTree(deployPath(t, "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func configData(t *testing.T, objs []Object) map[string]string {
	t.Helper()
	for _, o := range objs {
		if cm, ok := o.Typed.(*corev1.ConfigMap); ok && strings.HasPrefix(cm.Name, "parley-config") {
			return cm.Data
		}
	}
	t.Fatal("no parley-config ConfigMap")
	return nil
}

func TestOverlaysBuildDecodeStrictlyAndPassChecks(t *testing.T) {
	fsys := k8sTree(t)
	regions := overlays(t)
	replication := map[string]string{}
	for _, region := range regions {
		t.Run(region, func(t *testing.T) {
			objs, err := Build(fsys, deployPath(t, "k8s", "overlays", region))
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckObjects(objs); err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if o.Kind != "Namespace" && o.Namespace != "parley-"+region {
					t.Errorf("%s is in namespace %q, want parley-%s", o, o.Namespace, region)
				}
			}
			cfg := configData(t, objs)
			for _, k := range []string{"CHAT_GATEWAY_REGION", "CHAT_ROUTER_REGION", "CHAT_AUTH_CASSANDRA_DC", "CHAT_MESSAGES_CASSANDRA_DC", "CHAT_MEDIA_CASSANDRA_DC", "CHAT_GROUPS_CASSANDRA_DC"} {
				if cfg[k] != region {
					t.Errorf("%s = %q, want %q", k, cfg[k], region)
				}
			}
			for k, v := range cfg {
				if strings.HasSuffix(k, "_CASSANDRA_REPLICATION") {
					replication[region+" "+k] = v
					if !strings.Contains(v, "'NetworkTopologyStrategy'") {
						t.Errorf("%s = %s, want NetworkTopologyStrategy", k, v)
					}
					for _, r := range regions {
						if !regexp.MustCompile(`'` + r + `': [1-9]`).MatchString(v) {
							t.Errorf("%s = %s does not place replicas in data center %s", k, v, r)
						}
					}
				}
			}
			peers := cfg["CHAT_ROUTER_PEERS"]
			for _, r := range regions {
				if r != region && !strings.Contains(peers, r+"=http") {
					t.Errorf("CHAT_ROUTER_PEERS = %q does not name region %s", peers, r)
				}
			}
		})
	}
	distinct := map[string]bool{}
	for _, v := range replication {
		distinct[v] = true
	}
	if len(distinct) != 1 {
		t.Errorf("keyspace replication maps differ between services or regions: %v", replication)
	}
}

// breakTree returns the k8s tree with file rel's old text replaced.
func breakTree(t *testing.T, rel, old, new string) filesys.FileSystem {
	t.Helper()
	fsys := k8sTree(t)
	p := deployPath(t, "k8s", filepath.FromSlash(rel))
	data, err := fsys.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("fixture: %q is not in %s", old, rel)
	}
	if err := fsys.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1))); err != nil {
		t.Fatal(err)
	}
	return fsys
}

func TestBrokenManifestsAreRejected(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"unknown field", "base/router.yaml", "  replicas: 2\n", "  replicas: 2\n  replica: 2\n", "unknown field"},
		{"misplaced field", "base/gateway.yaml", "      terminationGracePeriodSeconds: 60\n", "      terminationGracePeriodSeconds: 60\n      preStop: {}\n", "unknown field"},
		{"wrong type", "base/gateway.yaml", "averageUtilization: 60", "averageUtilization: sixty", "strict decode"},
		{"short grace period", "base/gateway.yaml", "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds"},
		{"preStop wait below the drain timeout", "base/gateway.yaml", `"-wait", "35s"`, `"-wait", "10s"`, "less than the drain timeout"},
		{"no preStop", "base/gateway.yaml", "            preStop:\n              exec:\n", "            postStart:\n              exec:\n", "no preStop"},
		{"liveness on the wrong path", "base/authsvc.yaml", "              path: /healthz", "              path: /metrics", "livenessProbe checks /metrics"},
		{"probe on the wrong port", "base/router.yaml", "            httpGet:\n              path: /readyz\n              port: internal", "            httpGet:\n              path: /readyz\n              port: 8080", "not the internal listener"},
		{"root user", "base/messagesvc.yaml", "runAsUser: 65532", "runAsUser: 0", "runAsUser"},
		{"missing secret", "base/mediasvc.yaml", "name: parley-s3", "name: parley-s4", `Secret "parley-s4" does not exist`},
		{"mixed tags", "overlays/eu-west/kustomization.yaml", "    newName: registry.example.com/parleychat/router\n    newTag: \"0.1.0\"", "    newName: registry.example.com/parleychat/router\n    newTag: \"0.2.0\"", "share one tag"},
		{"HPA without the connections metric", "base/gateway.yaml", "          name: gateway_connections", "          name: gateway_sessions", "gateway_connections"},
		{"internal port open to the world", "overlays/eu-west/router-peers.yaml", "cidr: 10.20.0.0/16", "cidr: 0.0.0.0/0", "internal port 7106"},
		{"services cut apart", "base/networkpolicy.yaml", "              app.kubernetes.io/part-of: parley", "              app.kubernetes.io/part-of: other", "reach"},
		{"no default deny", "base/networkpolicy.yaml", "  podSelector: {}\n  policyTypes: [\"Ingress\"]\n", "  podSelector: {matchLabels: {app.kubernetes.io/name: none}}\n  policyTypes: [\"Ingress\"]\n", "default-deny"},
		{"replicas under an HPA", "base/gateway.yaml", "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gateway\n  strategy:", "spec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gateway\n  strategy:", "sets replicas"},
		{"no PDB for the gateway", "base/gateway.yaml", "kind: PodDisruptionBudget\nmetadata:\n  name: gateway\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gateway", "kind: PodDisruptionBudget\nmetadata:\n  name: gateway\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nothing", "selects no workload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := breakTree(t, c.file, c.old, c.new)
			objs, err := Build(fsys, deployPath(t, "k8s", "overlays", "eu-west"))
			if err == nil {
				err = CheckObjects(objs)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant one containing %q", err, c.want)
			}
		})
	}
}

func TestUnknownKindsAreRefused(t *testing.T) {
	if _, err := DecodeStrict("batch/v1", "CronJob", []byte("kind: CronJob\n")); err == nil {
		t.Fatal("a kind without a registered API type was accepted unchecked")
	}
}

func TestSecretsStayOutOfGit(t *testing.T) {
	dir := deployPath(t, "k8s", "base", "secrets")
	ignore, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil || !strings.Contains(string(ignore), "*.env") {
		t.Fatalf("deploy/k8s/base/secrets/.gitignore must ignore *.env (got %q, %v)", ignore, err)
	}
	examples, _ := filepath.Glob(filepath.Join(dir, "*.env.example"))
	sort.Strings(examples)
	if len(examples) < 2 {
		t.Fatalf("want the internal and S3 secret examples, got %v", examples)
	}
}
