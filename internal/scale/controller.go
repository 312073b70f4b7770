package scale

import (
	"context"
	"fmt"
	"log/slog"
	"prewarm/internal/every"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"prewarm/internal/warm"
)

// Platform is one platform's API: the machines it is asked for and has.
type Platform interface {
	Desire(ctx context.Context, n int) error
	Count(ctx context.Context) (Count, error)
}

// Count is a platform's own count of its machines.
type Count struct {
	Desired   int
	Instances int
}

// Jobs says whether any job is waiting or running: the fleet is idle only
// when none is.
type Jobs interface {
	Busy(ctx context.Context) (bool, error)
}

// Config configures a Controller.
type Config struct {
	// Spec is aws-asg:NAME or k8s:NAMESPACE/DEPLOYMENT.
	Spec string
	// AWSEndpoint overrides the Auto Scaling API endpoint (other
	// partitions, tests); Kubeconfig names a kubeconfig file instead of
	// the pod's service account.
	AWSEndpoint string
	Kubeconfig  string
	// ScaleDownAfter of idleness (no job waiting or running) scales the
	// platform down to MinCapacity; 0 never does.
	ScaleDownAfter time.Duration
	MinCapacity    int
	Log            *slog.Logger
	Now            func() time.Time
}

// callTimeout bounds one call to the platform: a platform that hangs must
// not hold a job's submission for long.
const callTimeout = 15 * time.Second

// Controller drives one platform: it implements warm.Scaler, and Run
// scales the platform down after an idle period.
type Controller struct {
	name     string
	platform Platform
	jobs     Jobs
	idle     time.Duration
	floor    int
	log      *slog.Logger
	now      func() time.Time

	calls sync.Mutex // one platform call at a time: Raise reads then writes

	mu         sync.Mutex
	lastActive time.Time
	atFloor    bool // scaled down and nothing asked since
}

var _ warm.Scaler = (*Controller)(nil)

// New connects to the platform cfg.Spec names. It makes no call yet: a
// server starts before its permissions are granted, and says so at the
// first request.
func New(ctx context.Context, cfg Config, jobs Jobs) (*Controller, error) {
	kind, target, err := Parse(cfg.Spec)
	if err != nil {
		return nil, err
	}
	var p Platform
	switch kind {
	case KindASG:
		p, err = NewASG(ctx, target, cfg.AWSEndpoint)
	case KindKubernetes:
		p, err = NewKube(target, cfg.Kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("--scaler %s: %w", cfg.Spec, err)
	}
	return NewController(cfg, p, jobs), nil
}

// NewController drives p, named cfg.Spec.
func NewController(cfg Config, p Platform, jobs Jobs) *Controller {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Controller{name: cfg.Spec, platform: p, jobs: jobs, idle: cfg.ScaleDownAfter, floor: cfg.MinCapacity,
		log: cfg.Log, now: cfg.Now, lastActive: cfg.Now()}
}

// Scaler kinds.
const (
	KindASG        = "aws-asg"
	KindKubernetes = "k8s"
)

// Parse splits aws-asg:NAME and k8s:NAMESPACE/DEPLOYMENT.
func Parse(spec string) (kind, target string, err error) {
	kind, target, ok := strings.Cut(spec, ":")
	switch {
	case !ok || target == "":
	case kind == KindASG:
		return kind, target, nil
	case kind == KindKubernetes:
		ns, name, ok := strings.Cut(target, "/")
		if ok && ns != "" && name != "" && !strings.Contains(name, "/") {
			return kind, target, checkKubernetesNames(spec, ns, name)
		}
	}
	return "", "", fmt.Errorf("--scaler %q: use aws-asg:NAME or k8s:NAMESPACE/DEPLOYMENT", spec)
}

// checkKubernetesNames refuses a namespace that is no DNS-1123 label or a
// Deployment name that is no DNS-1123 subdomain, as the API server would.
func checkKubernetesNames(spec, ns, name string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("--scaler %q: namespace %q: %s", spec, ns, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("--scaler %q: deployment %q: %s", spec, name, strings.Join(errs, "; "))
	}
	return nil
}

// String names the scaler as configured.
func (c *Controller) String() string { return c.name }

// Set asks the platform for n machines. The idle period starts again: a
// fleet just sized is not scaled down before it has had a chance to work.
func (c *Controller) Set(ctx context.Context, n int) error {
	c.active()
	c.calls.Lock()
	defer c.calls.Unlock()
	return c.desire(ctx, n)
}

// Raise asks for n machines unless the platform already wants as many.
func (c *Controller) Raise(ctx context.Context, n int) error {
	c.active()
	c.calls.Lock()
	defer c.calls.Unlock()
	count, err := c.count(ctx)
	if err == nil && count.Desired >= n {
		return nil
	}
	if err := c.desire(ctx, n); err != nil {
		c.log.Warn("scaling up for a job: it runs on the agents there are", "scaler", c.name, "want", n, "err", err)
		return err
	}
	c.log.Info("scaled up for a job", "scaler", c.name, "desired", n, "was", count.Desired)
	return nil
}

// Count is the platform's own count.
func (c *Controller) Count(ctx context.Context) (warm.PlatformCount, error) {
	count, err := c.count(ctx)
	return warm.PlatformCount{Scaler: c.name, Desired: count.Desired, Instances: count.Instances}, err
}

func (c *Controller) count(ctx context.Context) (Count, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	count, err := c.platform.Count(ctx)
	if err != nil {
		return Count{}, &warm.ScalerError{Scaler: c.name, Err: err}
	}
	return count, nil
}

func (c *Controller) desire(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := c.platform.Desire(ctx, n); err != nil {
		return &warm.ScalerError{Scaler: c.name, Err: err}
	}
	return nil
}

func (c *Controller) active() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastActive, c.atFloor = c.now(), false
}

// checkEvery is how often Run looks for idleness: a tenth of the idle
// period, between a second and half a minute.
func (c *Controller) checkEvery() time.Duration {
	return min(max(c.idle/10, time.Second), 30*time.Second)
}

// Run scales the platform down to the floor once no job has waited or run
// for the idle period, until ctx ends. Without an idle period it does
// nothing.
func (c *Controller) Run(ctx context.Context) {
	if c.idle <= 0 {
		return
	}
	every.Tick(ctx, c.checkEvery(), func(ctx context.Context) {
		if err := c.step(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("scaling down an idle fleet", "scaler", c.name, "err", err)
		}
	})
}

// step notes a busy fleet, or scales an idle one down once.
func (c *Controller) step(ctx context.Context) error {
	busy, err := c.jobs.Busy(ctx)
	if err != nil {
		return fmt.Errorf("are jobs running: %w", err)
	}
	if busy {
		c.active()
		return nil
	}
	// Under the call lock, a Set or Raise that came in meanwhile is seen.
	c.calls.Lock()
	defer c.calls.Unlock()
	c.mu.Lock()
	due := !c.atFloor && c.now().Sub(c.lastActive) >= c.idle
	c.mu.Unlock()
	if !due {
		return nil
	}
	if err := c.desire(ctx, c.floor); err != nil {
		return err
	}
	c.mu.Lock()
	c.atFloor = true
	c.mu.Unlock()
	c.log.Info("idle fleet scaled down", "scaler", c.name, "desired", c.floor, "idle", c.idle)
	return nil
}
