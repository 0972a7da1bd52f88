package manifestcheck

import (
	"context"
	"os"
	"strings"
	"testing"
)

var composeTestEnv = map[string]string{
	"CHAT_INTERNAL_SECRET": "0123456789abcdef0123456789abcdef-compose",
	"PARLEY_S3_SECRET_KEY": "compose-test-secret",
}

func composeFile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(deployPath(t, "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadCompose(t *testing.T, data []byte, env map[string]string) error {
	t.Helper()
	p, err := LoadCompose(context.Background(), deployPath(t, "compose"), "compose.yaml", data, env)
	if err != nil {
		return err
	}
	return CheckCompose(p)
}

func TestComposeFileLoadsAndPassesChecks(t *testing.T) {
	if err := loadCompose(t, composeFile(t), composeTestEnv); err != nil {
		t.Fatal(err)
	}
	p, err := LoadCompose(context.Background(), deployPath(t, "compose"), "compose.yaml", composeFile(t), composeTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]bool{}
	for _, s := range p.Services {
		if s.Build != nil {
			built[strings.TrimSuffix(strings.TrimPrefix(s.Build.Dockerfile, "deploy/docker/"), ".Dockerfile")] = true
		}
	}
	for _, svc := range services {
		if !built[svc] {
			t.Errorf("no Compose service builds deploy/docker/%s.Dockerfile", svc)
		}
	}
}

func TestComposeRequiresItsSecrets(t *testing.T) {
	if err := loadCompose(t, composeFile(t), map[string]string{"PARLEY_S3_SECRET_KEY": "x"}); err == nil || !strings.Contains(err.Error(), "CHAT_INTERNAL_SECRET") {
		t.Fatalf("err = %v, want the missing CHAT_INTERNAL_SECRET reported", err)
	}
}

func TestBrokenComposeFilesAreRejected(t *testing.T) {
	cases := []struct{ name, old, new, want string }{
		{"unknown key", "  stop_grace_period: 60s\n", "  stop_grace_period: 60s\n  stop_grace: 60s\n", "stop_grace"},
		{"start not health-gated", "      minio: {condition: service_healthy}", "      minio: {condition: service_started}", "want service_healthy"},
		{"one gateway in a region", "      CHAT_GATEWAY_ADVERTISE_ADDR: gateway-us-east-2:7100\n", "      CHAT_GATEWAY_ADVERTISE_ADDR: gateway-us-east-2:7100\n      CHAT_GATEWAY_REGION: eu-west\n      CHAT_GATEWAY_ROUTER_URL: http://router-eu-west:7106\n", "want two"},
		{"internal port published", "  receiptsvc:\n    <<: *service\n", "  receiptsvc:\n    <<: *service\n    ports: [\"7103:7103\"]\n", "publishes ports"},
		{"unreachable advertise address", "      CHAT_GATEWAY_ADVERTISE_ADDR: gateway-eu-west-2:7100", "      CHAT_GATEWAY_ADVERTISE_ADDR: 0.0.0.0:7100", "advertises"},
		{"shared Redis", "      CHAT_ROUTER_REDIS_ADDRS: redis-us-east:6379", "      CHAT_ROUTER_REDIS_ADDRS: redis-eu-west:6379", "share Redis"},
		{"no health check", "    healthcheck:\n      test: [\"CMD\", \"/usr/local/bin/parleyctl\", \"health\", \"http://127.0.0.1:7103/readyz\"]", "    healthcheck:\n      disable: true\n      test: [\"CMD\", \"/usr/local/bin/parleyctl\", \"health\", \"http://127.0.0.1:7103/readyz\"]", "no health check"},
		{"data on an anonymous volume", "      - cassandra-data:/var/lib/cassandra", "      - /var/lib/cassandra", "named volume"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := string(composeFile(t))
			if !strings.Contains(data, c.old) {
				t.Fatalf("fixture: %q is not in compose.yaml", c.old)
			}
			err := loadCompose(t, []byte(strings.Replace(data, c.old, c.new, 1)), composeTestEnv)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant one containing %q", err, c.want)
			}
		})
	}
}
