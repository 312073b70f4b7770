// Package kubernetes holds the Kubernetes manifests of a PostgreSQL-backed
// prewarm fleet; its test checks them against the real API types.
package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"prewarm/internal/cli"
)

// kinds are the apiVersion and kind of each API type the manifests may
// hold.
var kinds = []string{"v1 Namespace", "v1 Secret", "v1 ServiceAccount", "v1 Service", "apps/v1 Deployment",
	"rbac.authorization.k8s.io/v1 Role", "rbac.authorization.k8s.io/v1 RoleBinding"}

// decode reads one document strictly into the API type its apiVersion and
// kind name, as client-go's scheme maps them: an unknown or misspelt field,
// or a duplicate one, is an error.
func decode(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if !slices.Contains(kinds, tm.APIVersion+" "+tm.Kind) {
		return nil, fmt.Errorf("unexpected %s %s", tm.APIVersion, tm.Kind)
	}
	obj, err := scheme.Scheme.New(tm.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	return obj, yaml.UnmarshalStrict(doc, obj)
}

// kustomization is the part of kustomize's Kustomization these files use;
// anything else in the file is an error.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// readKustomization reads kustomization.yaml strictly.
func readKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatal(err)
	}
	return k
}

// manifests decodes every document of every YAML file here but the
// kustomization.
func manifests(t *testing.T) map[string]any {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	objs := map[string]any{}
	for _, f := range files {
		if f == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			obj, err := decode(doc)
			if err != nil {
				t.Fatalf("%s, document %d: %v", f, i+1, err)
			}
			m := obj.(metav1.ObjectMetaAccessor).GetObjectMeta()
			kind := strings.TrimPrefix(fmt.Sprintf("%T", obj), "*")
			objs[kind+"/"+m.GetName()] = obj
		}
	}
	return objs
}

func TestStrictDecodingCatchesMisspelling(t *testing.T) {
	data, err := os.ReadFile("serve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := bytes.Split(data, []byte("\n---\n"))[0]
	if _, err := decode(doc); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(doc, []byte("readinessProbe:"), []byte("readinesProbe:"), 1)
	if _, err := decode(bad); err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
}

func TestKustomizationListsTheManifests(t *testing.T) {
	k := readKustomization(t)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" || k.Namespace != "prewarm" {
		t.Fatalf("kustomization %+v", k)
	}
	files, _ := filepath.Glob("*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" || f == "secret.example.yaml" })
	slices.Sort(k.Resources)
	if !slices.Equal(k.Resources, files) {
		t.Fatalf("resources %v, files %v", k.Resources, files)
	}
}

// The Deployments run commands and flags prewarm has, take the key and the
// database from the Secret, are probed and have resource requests; the
// Role lets serve scale the agent Deployment and nothing more.
func TestFleetManifests(t *testing.T) {
	objs := manifests(t)
	secret := objs["v1.Secret/prewarm"].(*corev1.Secret)
	serve := objs["v1.Deployment/prewarm-serve"].(*appsv1.Deployment)
	agent := objs["v1.Deployment/prewarm-agent"].(*appsv1.Deployment)
	for _, d := range []*appsv1.Deployment{serve, agent} {
		checkPod(t, d, secret)
	}
	c := serve.Spec.Template.Spec.Containers[0]
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("serve probe %+v: want GET /healthz on the http port", p)
		}
	}
	if !slices.Contains(c.Args, "--scaler=k8s:$(POD_NAMESPACE)/"+agent.Name) {
		t.Errorf("serve does not scale %s: %v", agent.Name, c.Args)
	}
	svc := objs["v1.Service/prewarm"].(*corev1.Service)
	if !labelsMatch(svc.Spec.Selector, serve.Spec.Template.Labels) || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("the Service does not reach serve: %+v", svc.Spec)
	}
	role := objs["v1.Role/prewarm-scaler"].(*rbacv1.Role)
	want := rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"},
		ResourceNames: []string{agent.Name}, Verbs: []string{"get", "update", "patch"}}
	if len(role.Rules) != 1 || fmt.Sprint(role.Rules[0]) != fmt.Sprint(want) {
		t.Errorf("Role rules %+v", role.Rules)
	}
	bind := objs["v1.RoleBinding/prewarm-scaler"].(*rbacv1.RoleBinding)
	if bind.RoleRef.Name != role.Name || bind.Subjects[0].Name != serve.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("RoleBinding %+v does not bind serve's account to the Role", bind)
	}
}

// Every container's image is renamed by the kustomization's images: a
// bare "prewarm" would be pulled from docker.io/library/prewarm.
func TestKustomizationNamesTheImage(t *testing.T) {
	k := readKustomization(t)
	renamed := map[string]string{}
	for _, im := range k.Images {
		if im.NewName == "" || !strings.Contains(im.NewName, "/") {
			t.Errorf("images: %s: newName %q names no registry", im.Name, im.NewName)
		}
		renamed[im.Name] = im.NewName
	}
	objs := manifests(t)
	n := 0
	for key, obj := range objs {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			n++
			name, _, _ := strings.Cut(c.Image, ":")
			if renamed[name] == "" {
				t.Errorf("%s: image %q is not renamed by kustomization.yaml's images", key, c.Image)
			}
		}
	}
	if n == 0 {
		t.Fatal("no container found")
	}
}

func labelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// checkPod checks one Deployment's pod: selector, non-root, Secret keys,
// resources, and that prewarm accepts its arguments.
func checkPod(t *testing.T, d *appsv1.Deployment, secret *corev1.Secret) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("%s: selector matches no pod", d.Name)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: may run as root", d.Name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", d.Name, len(pod.Containers))
	}
	c := pod.Containers[0]
	for _, e := range c.Env {
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			if _, ok := secret.StringData[ref.SecretKeyRef.Key]; ref.SecretKeyRef.Name != secret.Name || !ok {
				t.Errorf("%s: %s from %s/%s, which the Secret lacks", d.Name, e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			}
		}
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().Cmp(*c.Resources.Requests.Memory()) < 0 {
		t.Errorf("%s: resources %+v", d.Name, c.Resources)
	}
	checkArgs(t, d.Name, c.Args)
}

// checkArgs parses the container's arguments with prewarm's own command
// line: a misspelt flag or command fails here, not in the cluster.
func checkArgs(t *testing.T, name string, args []string) {
	t.Helper()
	root := cli.NewRoot()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Fatalf("%s: %v is no prewarm command: %v", name, args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%s: %v: %v", name, args, err)
	}
}
