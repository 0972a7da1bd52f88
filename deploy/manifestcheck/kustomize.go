package manifestcheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one built Kubernetes object, decoded into its API type.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	YAML                              []byte
	Typed                             any // *appsv1.Deployment, *corev1.Service, …
}

func (o Object) String() string { return o.Kind + "/" + o.Name }

// LoadTree copies the directory tree at dir into an in-memory filesystem
// at the same absolute path, so tests can break files without touching the
// repository. Secret env files are kept out of git (secrets/*.env); where
// one is missing, its committed *.env.example stands in, as ops would
// start from it.
func LoadTree(dir string) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := mem.WriteFile(p, data); err != nil {
			return err
		}
		if real, ok := strings.CutSuffix(p, ".env.example"); ok {
			if _, err := os.Stat(real + ".env"); os.IsNotExist(err) {
				return mem.WriteFile(real+".env", data)
			}
		}
		return nil
	})
	return mem, err
}

// Build runs `kustomize build` on the kustomization at path in fsys and
// decodes every object strictly.
func Build(fsys filesys.FileSystem, path string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", path, err)
	}
	var out []Object
	for _, r := range rm.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		o := Object{APIVersion: r.GetApiVersion(), Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName(), YAML: data}
		if o.Typed, err = DecodeStrict(o.APIVersion, o.Kind, data); err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// DecodeStrict decodes one object into the k8s.io/api type of its
// apiVersion and kind, rejecting unknown or duplicate fields: a misspelt or
// misplaced field, which the API server would silently drop (or reject), fails
// here. Kinds this repository does not use are refused, so nothing goes
// unchecked.
func DecodeStrict(apiVersion, kind string, data []byte) (any, error) {
	var obj any
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "apps/v1 StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1 PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	case "networking.k8s.io/v1 NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	default:
		return nil, fmt.Errorf("no API type registered for %s %s", apiVersion, kind)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, fmt.Errorf("strict decode into %T: %w", obj, err)
	}
	return obj, nil
}
