// Package manifestcheck checks the deployment files under deploy/ without a
// container engine or a cluster: the Dockerfiles (parsed by BuildKit's own
// parser, their build stage replayed into a temporary tree and resolved by
// the go command), the Kustomize overlays (built with the kustomize API and
// decoded strictly into the Kubernetes API types), the Compose file (loaded
// by compose-go) and the Grafana dashboard (every metric it queries must be
// one the code exports). The tests in this module run these checks against
// the repository and against broken fixtures, so each check is seen failing.
package manifestcheck
