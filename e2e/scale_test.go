package e2e

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/scale/asgtest"
	"prewarm/internal/scale/kubetest"
)

// platform is a stand-in of one scaler's platform and the serve flags and
// environment that point at it.
type platform struct {
	flags []string
	env   map[string]string
	asks  func() []int // the capacities the platform accepted, in order
}

func asgPlatform(t *testing.T, deny bool) platform {
	f := &asgtest.Fake{Group: "prewarm-agents", MaxSize: 10, DenySet: deny}
	srv := f.Start(t)
	return platform{flags: []string{"--scaler", "aws-asg:prewarm-agents", "--aws-endpoint", srv.URL},
		env: asgtest.Env(t.TempDir()), asks: f.Sets}
}

func kubePlatform(t *testing.T, deny bool) platform {
	f := &kubetest.Fake{Namespace: "prewarm", Name: "prewarm-agent", DenyUpdate: deny}
	srv := f.Start(t)
	return platform{flags: []string{"--scaler", "k8s:prewarm/prewarm-agent", "--kubeconfig", kubetest.Kubeconfig(t, srv)},
		asks: f.Updates}
}

// POST /instances sizes the platform and GET /instances shows its count; a
// job's instance_count raises it; after the idle period it scales down.
func TestScalers(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	for name, start := range map[string]func(*testing.T, bool) platform{"aws-asg": asgPlatform, "k8s": kubePlatform} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := start(t, false)
			srv := startServeEnv(t, p.env, "", append(append(serveArgs(cdn), p.flags...), "--scale-down-after", "2s")...)
			asked := func(want ...int) {
				t.Helper()
				waitFor(t, 15*time.Second, func() bool { return slices.Equal(p.asks(), want) })
			}
			srv.setInstances(client.InstancesRequest{DesiredCapacity: 3})
			asked(3)
			st, err := srv.c.Instances(t.Context())
			srv.must("GET /instances", err)
			if pl := st.Platform; pl == nil || pl.Desired != 3 || pl.Instances != 3 || pl.Error != "" || !strings.HasPrefix(pl.Scaler, name+":") {
				t.Fatalf("GET /instances platform %+v", pl)
			}
			asked(3, 0) // idle: nothing ran
			j := job(cdn, urlsOf(cdn, "/scale/"+name+"/", 3))
			j.InstanceCount = new(2)
			id := srv.submit(j)
			if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished {
				t.Fatalf("job %s", p.Status)
			}
			asked(3, 0, 2, 0)
		})
	}
}

// A platform that refuses: POST /instances answers 502 with the
// platform's message naming the scaler, and a job still runs on the
// agents there are.
func TestScalerRefused(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	for name, tc := range map[string]struct {
		start func(*testing.T, bool) platform
		want  string
	}{
		"aws-asg": {asgPlatform, "scaler aws-asg:prewarm-agents: SetDesiredCapacity: AccessDenied: User: "},
		"k8s":     {kubePlatform, `scaler k8s:prewarm/prewarm-agent: update deployments/scale prewarm/prewarm-agent: deployments.apps "prewarm-agent" is forbidden`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := tc.start(t, true)
			srv := startServeEnv(t, p.env, "", append(serveArgs(cdn), p.flags...)...)
			_, err := srv.c.SetInstances(t.Context(), client.InstancesRequest{DesiredCapacity: 3})
			var ce *client.Error
			if !errors.As(err, &ce) || ce.StatusCode != http.StatusBadGateway || !strings.Contains(ce.Message, tc.want) {
				t.Fatalf("POST /instances: %v, want 502 with %q", err, tc.want)
			}
			j := job(cdn, urlsOf(cdn, "/refused/"+name+"/", 3))
			j.InstanceCount = new(2)
			id := srv.submit(j)
			if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished || p.SuccessCount != 6 {
				t.Fatalf("job %s, %d of 6 warmed", p.Status, p.SuccessCount)
			}
			if len(p.asks()) != 0 {
				t.Fatalf("the platform accepted %v", p.asks())
			}
		})
	}
}
