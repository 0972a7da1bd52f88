package manifestcheck

import (
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// InternalPorts are the services' internal listeners, by binary name.
var InternalPorts = map[string]int32{
	"gateway": 7100, "authsvc": 7101, "messagesvc": 7102, "receiptsvc": 7103,
	"groupsvc": 7104, "mediasvc": 7105, "router": 7106,
}

// ConnectionsMetric is the gateway gauge the HPA scales on.
const ConnectionsMetric = "gateway_connections"

// withdrawTimeout is how long the gateway's drain waits for the router to
// forget it before telling clients to leave (gateway/module: 5s).
const withdrawTimeout = 5 * time.Second

// workload is a Deployment or StatefulSet's pod template with its name.
type workload struct {
	kind, name string
	replicas   *int32
	template   corev1.PodTemplateSpec
}

// podSpec returns the pod template of a Deployment or StatefulSet.
func podSpec(o Object) (*corev1.PodSpec, bool) {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		return &t.Spec.Template.Spec, true
	case *appsv1.StatefulSet:
		return &t.Spec.Template.Spec, true
	}
	return nil, false
}

// parleyBinary returns the service an image runs ("gateway" for
// registry.example.com/parleychat/gateway:1.0), or "" for other images.
func parleyBinary(image string) string {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if path.Base(path.Dir(repo)) != "parleychat" {
		return ""
	}
	return path.Base(repo)
}

func imageTag(image string) string {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return "@" + digest
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return ""
}

func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// durationSetting reads a duration the container sets by environment, or
// the flag's default.
func durationSetting(c corev1.Container, env string, def time.Duration) (time.Duration, error) {
	v, ok := envValue(c, env)
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", env, v, err)
	}
	return d, nil
}

func portNumber(c corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

// CheckObjects runs the semantic checks over one overlay's objects.
func CheckObjects(objs []Object) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	var workloads []workload
	secrets, configMaps := map[string]bool{}, map[string]bool{}
	var hpas []*autoscalingv2.HorizontalPodAutoscaler
	var pdbs []*policyv1.PodDisruptionBudget
	var policies []*networkingv1.NetworkPolicy
	var services []*corev1.Service
	for _, o := range objs {
		switch t := o.Typed.(type) {
		case *appsv1.Deployment:
			workloads = append(workloads, workload{"Deployment", t.Name, t.Spec.Replicas, t.Spec.Template})
		case *appsv1.StatefulSet:
			workloads = append(workloads, workload{"StatefulSet", t.Name, t.Spec.Replicas, t.Spec.Template})
		case *corev1.Secret:
			secrets[t.Name] = true
		case *corev1.ConfigMap:
			configMaps[t.Name] = true
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas = append(hpas, t)
		case *policyv1.PodDisruptionBudget:
			pdbs = append(pdbs, t)
		case *networkingv1.NetworkPolicy:
			policies = append(policies, t)
		case *corev1.Service:
			services = append(services, t)
		}
	}

	tags := map[string][]string{}
	seen := map[string]bool{}
	for _, w := range workloads {
		where := w.kind + "/" + w.name
		pod := w.template.Spec
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			bad("%s: the pod must set securityContext.runAsNonRoot: true", where)
		}
		for _, c := range pod.Containers {
			cw := where + " container " + c.Name
			uid := pod.SecurityContext
			if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
				if *c.SecurityContext.RunAsUser == 0 {
					bad("%s: runs as uid 0", cw)
				}
			} else if uid == nil || uid.RunAsUser == nil || *uid.RunAsUser == 0 {
				bad("%s: no non-zero runAsUser (pod or container)", cw)
			}
			if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				bad("%s: allowPrivilegeEscalation must be false", cw)
			}
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil && !secrets[ef.SecretRef.Name] {
					bad("%s: envFrom Secret %q does not exist", cw, ef.SecretRef.Name)
				}
				if ef.ConfigMapRef != nil && !configMaps[ef.ConfigMapRef.Name] {
					bad("%s: envFrom ConfigMap %q does not exist", cw, ef.ConfigMapRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !secrets[e.ValueFrom.SecretKeyRef.Name] {
					bad("%s: env %s refers to missing Secret %q", cw, e.Name, e.ValueFrom.SecretKeyRef.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && !configMaps[e.ValueFrom.ConfigMapKeyRef.Name] {
					bad("%s: env %s refers to missing ConfigMap %q", cw, e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
				}
			}
			bin := parleyBinary(c.Image)
			if bin == "" {
				continue
			}
			seen[bin] = true
			tag := imageTag(c.Image)
			tags[tag] = append(tags[tag], c.Image)
			errs = append(errs, checkParleyContainer(cw, bin, c)...)
			if c.Resources.Requests.Cpu().IsZero() {
				bad("%s: no CPU request (the HPA's utilization target and scheduling need one)", cw)
			}
			if bin == "gateway" {
				errs = append(errs, checkGatewayDrain(cw, pod, c)...)
			}
		}
		for _, v := range pod.Volumes {
			if v.Secret != nil && !secrets[v.Secret.SecretName] {
				bad("%s: volume %s mounts missing Secret %q", where, v.Name, v.Secret.SecretName)
			}
		}
	}
	for bin := range InternalPorts {
		if !seen[bin] {
			bad("no workload runs the %s image", bin)
		}
	}
	if len(tags) != 1 {
		bad("Parley images must share one tag (one release per region), got %v", tags)
	}
	for tag, images := range tags {
		if tag == "" || tag == "latest" {
			bad("images %v need an explicit tag other than latest", images)
		}
	}

	errs = append(errs, checkAutoscaling(workloads, hpas)...)
	errs = append(errs, checkDisruptionBudgets(workloads, pdbs)...)
	errs = append(errs, checkServices(workloads, services)...)
	errs = append(errs, checkNetworkPolicies(policies)...)
	errs = append(errs, checkInternalReachability(workloads, policies)...)
	return errors.Join(errs...)
}

// checkParleyContainer: probes on the internal listener's /healthz
// (liveness) and /readyz (readiness), and that listener bound where the
// probes look.
func checkParleyContainer(where, bin string, c corev1.Container) []error {
	var errs []error
	want := InternalPorts[bin]
	addr, ok := envValue(c, "CHAT_INTERNAL_ADDR")
	if !ok {
		addr = fmt.Sprintf("0.0.0.0:%d", want) // the image's default
	}
	if host, port, err := net.SplitHostPort(addr); err != nil || port != fmt.Sprint(want) || (host != "0.0.0.0" && host != "" && host != "::") {
		errs = append(errs, fmt.Errorf("%s: CHAT_INTERNAL_ADDR=%s, want 0.0.0.0:%d (probes and other pods reach it by pod IP)", where, addr, want))
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
		switch {
		case p.probe == nil || p.probe.HTTPGet == nil:
			errs = append(errs, fmt.Errorf("%s: no HTTP %s", where, p.name))
		case p.probe.HTTPGet.Path != p.path:
			errs = append(errs, fmt.Errorf("%s: %s checks %s, want %s", where, p.name, p.probe.HTTPGet.Path, p.path))
		case portNumber(c, p.probe.HTTPGet.Port) != want:
			errs = append(errs, fmt.Errorf("%s: %s port %s is not the internal listener %d", where, p.name, p.probe.HTTPGet.Port.String(), want))
		}
	}
	return errs
}

// checkGatewayDrain: a preStop hook running the drain, waiting at least
// the drain timeout plus the router withdraw, and a grace period covering
// the hook and the listeners' shutdown after SIGTERM.
func checkGatewayDrain(where string, pod corev1.PodSpec, c corev1.Container) []error {
	var errs []error
	drain, err1 := durationSetting(c, "CHAT_GATEWAY_DRAIN_TIMEOUT", 30*time.Second)
	shutdown, err2 := durationSetting(c, "CHAT_PUBLIC_SHUTDOWN_TIMEOUT", 15*time.Second)
	if err := errors.Join(err1, err2); err != nil {
		return []error{fmt.Errorf("%s: %w", where, err)}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		return []error{fmt.Errorf("%s: no preStop exec hook running the drain", where)}
	}
	cmd := c.Lifecycle.PreStop.Exec.Command
	if len(cmd) < 2 || path.Base(cmd[0]) != "parleyctl" || cmd[1] != "drain" {
		return []error{fmt.Errorf("%s: preStop runs %q, want parleyctl drain", where, cmd)}
	}
	wait := 35 * time.Second // parleyctl's default
	for i := 2; i+1 < len(cmd); i++ {
		if cmd[i] == "-wait" || cmd[i] == "--wait" {
			d, err := time.ParseDuration(cmd[i+1])
			if err != nil {
				return []error{fmt.Errorf("%s: preStop -wait %q: %w", where, cmd[i+1], err)}
			}
			wait = d
		}
	}
	if wait < drain+withdrawTimeout {
		errs = append(errs, fmt.Errorf("%s: preStop waits %v, less than the drain timeout %v plus the router withdraw %v", where, wait, drain, withdrawTimeout))
	}
	grace := time.Duration(0)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	} else {
		grace = 30 * time.Second
	}
	if grace < wait+shutdown {
		errs = append(errs, fmt.Errorf("%s: terminationGracePeriodSeconds %v < preStop wait %v + shutdown timeout %v: the kubelet would kill the gateway mid-drain", where, grace, wait, shutdown))
	}
	return errs
}

func checkAutoscaling(workloads []workload, hpas []*autoscalingv2.HorizontalPodAutoscaler) []error {
	var errs []error
	scaled := map[string]bool{}
	for _, h := range hpas {
		ref := h.Spec.ScaleTargetRef
		idx := slices.IndexFunc(workloads, func(w workload) bool { return w.kind == ref.Kind && w.name == ref.Name })
		if idx < 0 {
			errs = append(errs, fmt.Errorf("HPA %s scales %s/%s, which does not exist", h.Name, ref.Kind, ref.Name))
			continue
		}
		scaled[ref.Name] = true
		if workloads[idx].replicas != nil {
			errs = append(errs, fmt.Errorf("%s/%s sets replicas although HPA %s owns them: every apply would reset the scale", ref.Kind, ref.Name, h.Name))
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			errs = append(errs, fmt.Errorf("HPA %s: want 2 ≤ minReplicas ≤ maxReplicas (a drain must leave a gateway)", h.Name))
		}
		var cpu, conns bool
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU {
				cpu = true
			}
			if m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil && m.Pods.Metric.Name == ConnectionsMetric {
				conns = m.Pods.Target.AverageValue != nil
			}
		}
		if ref.Name == "gateway" && (!cpu || !conns) {
			errs = append(errs, fmt.Errorf("HPA %s: want a CPU metric and a %s per-pod AverageValue metric (cpu=%v, connections=%v)", h.Name, ConnectionsMetric, cpu, conns))
		}
	}
	if !scaled["gateway"] {
		errs = append(errs, errors.New("no HPA scales the gateway Deployment"))
	}
	return errs
}

func selects(sel map[string]string, w workload) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(w.template.Labels))
}

func checkDisruptionBudgets(workloads []workload, pdbs []*policyv1.PodDisruptionBudget) []error {
	var errs []error
	covered := map[string]bool{}
	for _, p := range pdbs {
		if p.Spec.Selector == nil {
			errs = append(errs, fmt.Errorf("PDB %s has no selector", p.Name))
			continue
		}
		n := 0
		for _, w := range workloads {
			if selects(p.Spec.Selector.MatchLabels, w) {
				covered[w.name] = true
				n++
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("PDB %s selects no workload", p.Name))
		}
	}
	if !covered["gateway"] {
		errs = append(errs, errors.New("no PodDisruptionBudget covers the gateway"))
	}
	return errs
}

func checkServices(workloads []workload, services []*corev1.Service) []error {
	var errs []error
	for _, s := range services {
		idx := slices.IndexFunc(workloads, func(w workload) bool { return selects(s.Spec.Selector, w) })
		if idx < 0 {
			errs = append(errs, fmt.Errorf("Service %s selects no workload", s.Name))
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, c := range workloads[idx].template.Spec.Containers {
				if portNumber(c, p.TargetPort) != 0 || (p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0 && portNumber(c, intstr.FromInt32(p.Port)) != 0) {
					found = true
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("Service %s port %s targets %s, which no container declares", s.Name, p.Name, p.TargetPort.String()))
			}
		}
	}
	return errs
}

func internalPort(p int32) bool {
	for _, v := range InternalPorts {
		if p == v {
			return true
		}
	}
	return false
}

// checkNetworkPolicies: a default deny for ingress, and no rule that lets
// any source reach an internal port.
func checkNetworkPolicies(policies []*networkingv1.NetworkPolicy) []error {
	var errs []error
	deny := false
	for _, p := range policies {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(p.Spec.Ingress) == 0 {
			deny = true
		}
		for i, rule := range p.Spec.Ingress {
			open := len(rule.From) == 0
			for _, peer := range rule.From {
				if peer.IPBlock != nil {
					if _, n, err := net.ParseCIDR(peer.IPBlock.CIDR); err != nil {
						errs = append(errs, fmt.Errorf("NetworkPolicy %s: bad CIDR %q", p.Name, peer.IPBlock.CIDR))
					} else if ones, _ := n.Mask.Size(); ones == 0 {
						open = true
					}
				}
				if peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 && len(peer.NamespaceSelector.MatchExpressions) == 0 && peer.PodSelector == nil {
					open = true // every pod of every namespace
				}
			}
			if !open {
				continue
			}
			if len(rule.Ports) == 0 {
				errs = append(errs, fmt.Errorf("NetworkPolicy %s ingress[%d] admits every source on every port, internal listeners included", p.Name, i))
			}
			for _, port := range rule.Ports {
				if port.Port != nil && port.Port.Type == intstr.Int && internalPort(port.Port.IntVal) {
					errs = append(errs, fmt.Errorf("NetworkPolicy %s ingress[%d] admits every source on internal port %d", p.Name, i, port.Port.IntVal))
				}
				if port.Port != nil && port.Port.Type == intstr.String && port.Port.StrVal == "internal" {
					errs = append(errs, fmt.Errorf("NetworkPolicy %s ingress[%d] admits every source on the internal port", p.Name, i))
				}
			}
		}
	}
	if !deny {
		errs = append(errs, errors.New("no default-deny ingress NetworkPolicy (empty podSelector, no ingress rules)"))
	}
	return errs
}

// checkInternalReachability: the default deny must not cut the platform
// apart. Every Parley pod must be admitted to every other Parley pod's
// internal port by some policy (services call each other, the router
// pushes to gateways).
func checkInternalReachability(workloads []workload, policies []*networkingv1.NetworkPolicy) []error {
	var errs []error
	var parley []workload
	for _, w := range workloads {
		for _, c := range w.template.Spec.Containers {
			if parleyBinary(c.Image) != "" {
				parley = append(parley, w)
				break
			}
		}
	}
	for _, server := range parley {
		port := InternalPorts[parleyBinary(server.template.Spec.Containers[0].Image)]
		for _, client := range parley {
			if !admits(policies, client, server, port) {
				errs = append(errs, fmt.Errorf("no NetworkPolicy lets %s reach %s's internal port %d", client.name, server.name, port))
			}
		}
	}
	return errs
}

func admits(policies []*networkingv1.NetworkPolicy, client, server workload, port int32) bool {
	for _, p := range policies {
		if p.Spec.PodSelector.MatchExpressions != nil || !labels.SelectorFromSet(p.Spec.PodSelector.MatchLabels).Matches(labels.Set(server.template.Labels)) {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			portOK := len(rule.Ports) == 0
			for _, rp := range rule.Ports {
				if rp.Port == nil || (rp.Port.Type == intstr.Int && rp.Port.IntVal == port) {
					portOK = true
				}
			}
			if !portOK {
				continue
			}
			for _, peer := range rule.From {
				if peer.PodSelector != nil && peer.NamespaceSelector == nil && peer.IPBlock == nil && peer.PodSelector.MatchExpressions == nil &&
					labels.SelectorFromSet(peer.PodSelector.MatchLabels).Matches(labels.Set(client.template.Labels)) {
					return true
				}
			}
		}
	}
	return false
}
