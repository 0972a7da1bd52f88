package manifestcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadCompose loads a Compose file with compose-go, the loader Docker
// Compose itself uses: schema validation (unknown keys fail), YAML merges,
// interpolation with env (a required variable left unset fails), and
// normalization.
func LoadCompose(ctx context.Context, dir, name string, content []byte, env map[string]string) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: name, Content: content}},
		Environment: env,
	}
	return loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName("parley", true)
		o.ResolvePaths = true
	})
}

func composeEnv(s types.ServiceConfig, key string) string {
	if v, ok := s.Environment[key]; ok && v != nil {
		return *v
	}
	return ""
}

// CheckCompose checks the single-host stack: health checks everywhere and
// start order gated on them, two gateways per region each with its own
// region's router and Redis, gateways advertising an address the router can
// reach, internal listeners unpublished, data on named volumes.
func CheckCompose(p *types.Project) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	gateways := map[string][]string{} // region → services
	routers := map[string]types.ServiceConfig{}
	for name, s := range p.Services {
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			bad("service %s has no health check: nothing can wait for it to be ready", name)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				bad("service %s depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
		if len(s.Ports) > 0 && name != "edge" {
			bad("service %s publishes ports %v; only the edge faces the host", name, s.Ports)
		}
		bin := parleyBinary(s.Image)
		if bin == "" {
			continue
		}
		if port, ok := InternalPorts[bin]; ok && s.HealthCheck != nil {
			test := strings.Join(s.HealthCheck.Test, " ")
			if !strings.Contains(test, "parleyctl health") || !strings.Contains(test, fmt.Sprintf(":%d/", port)) {
				bad("service %s health check %q does not probe its internal listener :%d", name, test, port)
			}
		}
		for net := range s.Networks {
			if n, ok := p.Networks[net]; !ok || !n.Internal {
				bad("service %s is on network %s, which is not internal", name, net)
			}
		}
		switch bin {
		case "gateway":
			region := composeEnv(s, "CHAT_GATEWAY_REGION")
			gateways[region] = append(gateways[region], name)
			host, _, err := net.SplitHostPort(composeEnv(s, "CHAT_GATEWAY_ADVERTISE_ADDR"))
			if err != nil || host != name {
				bad("gateway %s advertises %q; the router must reach it by its service name", name, composeEnv(s, "CHAT_GATEWAY_ADVERTISE_ADDR"))
			}
			if s.StopGracePeriod == nil || int64(*s.StopGracePeriod) < int64(45e9) {
				bad("gateway %s: stop_grace_period must cover the drain (30s) and shutdown (15s)", name)
			}
		case "router":
			routers[composeEnv(s, "CHAT_ROUTER_REGION")] = s
		}
	}
	if len(gateways) < 2 {
		bad("want two regions, got gateways in %v", gateways)
	}
	redises := map[string]string{}
	for region, gws := range gateways {
		if len(gws) < 2 {
			bad("region %q has gateways %v, want two", region, gws)
		}
		r, ok := routers[region]
		if !ok {
			bad("region %q has no router", region)
			continue
		}
		for _, g := range gws {
			if url := composeEnv(p.Services[g], "CHAT_GATEWAY_ROUTER_URL"); url != "http://"+r.Name+":7106" {
				bad("gateway %s uses router %s, not its region's %s", g, url, r.Name)
			}
		}
		redis := composeEnv(r, "CHAT_ROUTER_REDIS_ADDRS")
		if other, dup := redises[redis]; dup {
			bad("routers of %s and %s share Redis %s; each region has its own", region, other, redis)
		}
		redises[redis] = region
		if host, _, _ := net.SplitHostPort(redis); !slices.Contains(r.GetDependencies(), host) {
			bad("router %s does not wait for its Redis %s", r.Name, host)
		}
	}
	for _, stateful := range []string{"cassandra", "minio"} {
		s, ok := p.Services[stateful]
		if !ok {
			bad("no %s service", stateful)
			continue
		}
		named := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			_, declared := p.Volumes[v.Source]
			return v.Type == types.VolumeTypeVolume && declared
		})
		if !named {
			bad("%s keeps its data outside a named volume", stateful)
		}
	}
	if _, ok := p.Services["edge"]; !ok {
		bad("no edge service publishing the web client")
	}
	return errors.Join(errs...)
}
