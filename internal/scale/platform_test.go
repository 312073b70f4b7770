package scale

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"prewarm/internal/scale/asgtest"
	"prewarm/internal/scale/kubetest"
	"prewarm/internal/warm"
)

func newASG(t *testing.T, f *asgtest.Fake) *Controller {
	t.Helper()
	for k, v := range asgtest.Env(t.TempDir()) {
		t.Setenv(k, v)
	}
	srv := f.Start(t)
	c, err := New(t.Context(), Config{Spec: "aws-asg:" + f.Group, AWSEndpoint: srv.URL}, idleJobs{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newKube(t *testing.T, f *kubetest.Fake) *Controller {
	t.Helper()
	srv := f.Start(t)
	c, err := New(t.Context(), Config{Spec: "k8s:" + f.Namespace + "/" + f.Name, Kubeconfig: kubetest.Kubeconfig(t, srv)}, idleJobs{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type idleJobs struct{}

func (idleJobs) Busy(context.Context) (bool, error) { return false, nil }

// Each platform is asked for what Set and Raise want, counted as it
// counts, and a refusal comes back as a ScalerError carrying the
// platform's own message.
func TestPlatforms(t *testing.T) {
	asg := &asgtest.Fake{Group: "prewarm-agents", MaxSize: 10, Desired: 1}
	kube := &kubetest.Fake{Namespace: "prewarm", Name: "prewarm-agent", Replicas: 1}
	for name, tc := range map[string]struct {
		c    func(t *testing.T) *Controller
		asks func() []int
	}{
		"aws-asg": {func(t *testing.T) *Controller { return newASG(t, asg) }, asg.Sets},
		"k8s":     {func(t *testing.T) *Controller { return newKube(t, kube) }, kube.Updates},
	} {
		t.Run(name, func(t *testing.T) {
			c := tc.c(t)
			ctx := t.Context()
			if err := c.Set(ctx, 3); err != nil {
				t.Fatal(err)
			}
			if err := c.Raise(ctx, 2); err != nil { // already 3: left alone
				t.Fatal(err)
			}
			if err := c.Raise(ctx, 5); err != nil {
				t.Fatal(err)
			}
			if got := tc.asks(); !slices.Equal(got, []int{3, 5}) {
				t.Fatalf("platform asked for %v, want [3 5]", got)
			}
			count, err := c.Count(ctx)
			if err != nil || count != (warm.PlatformCount{Scaler: c.String(), Desired: 5, Instances: 5}) {
				t.Fatalf("count %+v, %v", count, err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		c    func(t *testing.T) *Controller
		want []string
	}{
		"aws-asg denied": {func(t *testing.T) *Controller {
			return newASG(t, &asgtest.Fake{Group: "g", MaxSize: 10, DenySet: true})
		}, []string{"scaler aws-asg:g", "SetDesiredCapacity: AccessDenied", "not authorized to perform: autoscaling:SetDesiredCapacity"}},
		"aws-asg over max": {func(t *testing.T) *Controller {
			return newASG(t, &asgtest.Fake{Group: "g", MaxSize: 2})
		}, []string{"ValidationError", "outside of the group's min size 0 and max size 2"}},
		"k8s forbidden": {func(t *testing.T) *Controller {
			return newKube(t, &kubetest.Fake{Namespace: "ns", Name: "d", DenyUpdate: true})
		}, []string{"scaler k8s:ns/d", "update deployments/scale ns/d", `cannot update resource "deployments/scale"`, "(Forbidden)"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.c(t).Set(t.Context(), 3)
			var se *warm.ScalerError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a ScalerError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A group or Deployment that does not exist is said so when counted.
func TestMissingTarget(t *testing.T) {
	asg := newASG(t, &asgtest.Fake{Group: "real", MaxSize: 1})
	asg.name = "aws-asg:other"
	asg.platform.(*ASG).name = "other"
	if _, err := asg.Count(t.Context()); err == nil || !strings.Contains(err.Error(), `no Auto Scaling group named "other"`) {
		t.Errorf("asg: %v", err)
	}
	srv := (&kubetest.Fake{Namespace: "ns", Name: "real"}).Start(t)
	k, err := New(t.Context(), Config{Spec: "k8s:ns/other", Kubeconfig: kubetest.Kubeconfig(t, srv)}, idleJobs{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Count(t.Context()); err == nil || !strings.Contains(err.Error(), `deployments.apps "other" not found (NotFound)`) {
		t.Errorf("k8s: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "asg:x", "aws-asg:", "k8s:ns", "k8s:/d", "k8s:ns/", "k8s:a/b/c", "gce:x"} {
		if _, _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "--scaler") {
			t.Errorf("Parse(%q): %v", bad, err)
		}
	}
	if k, tgt, err := Parse("k8s:prewarm/agent"); k != KindKubernetes || tgt != "prewarm/agent" || err != nil {
		t.Errorf("k8s: %q %q %v", k, tgt, err)
	}
	for spec, want := range map[string]string{
		"k8s:Bad_NS/dep":                        `namespace "Bad_NS"`,
		"k8s:a.b/dep":                           `namespace "a.b"`,
		"k8s:prewarm/Agent":                     `deployment "Agent"`,
		"k8s:prewarm/agent_1":                   `deployment "agent_1"`,
		"k8s:" + strings.Repeat("n", 64) + "/d": "namespace",
	} {
		if _, _, err := Parse(spec); err == nil || !strings.Contains(err.Error(), `--scaler "`+spec+`": `+want) {
			t.Errorf("Parse(%q): %v, want %s", spec, err, want)
		}
	}
	if _, _, err := Parse("k8s:prewarm-2/prewarm.agent-1"); err != nil {
		t.Errorf("a dotted deployment name: %v", err)
	}
	if _, err := New(t.Context(), Config{Spec: "k8s:ns/d", Kubeconfig: "/nonexistent/kubeconfig"}, idleJobs{}); err == nil ||
		!strings.Contains(err.Error(), "--kubeconfig /nonexistent/kubeconfig") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}
