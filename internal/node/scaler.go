package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"prewarm/internal/scale"
	"prewarm/internal/warm"
)

// Scaler configures the sizing of the machines the agents run on.
type Scaler struct {
	// Spec is aws-asg:NAME or k8s:NAMESPACE/DEPLOYMENT; empty: no scaler,
	// the desired capacity only ranks the agents running.
	Spec        string
	AWSEndpoint string // the Auto Scaling API endpoint (tests, other partitions)
	Kubeconfig  string // a kubeconfig instead of the pod's service account
	// ScaleDownAfter of no job waiting or running scales the platform
	// down to MinCapacity; 0 never does.
	ScaleDownAfter time.Duration
	MinCapacity    int
}

// DefaultScaleDownAfter is long enough for a burst of jobs submitted one
// after another to find its machines still up, short enough that an idle
// fleet does not run for an hour.
const DefaultScaleDownAfter = 15 * time.Minute

func (s Scaler) validate() error {
	if s.Spec == "" {
		return nil
	}
	var errs []error
	if _, _, err := scale.Parse(s.Spec); err != nil {
		errs = append(errs, err)
	}
	if s.ScaleDownAfter < 0 {
		errs = append(errs, fmt.Errorf("--scale-down-after %v: 0 (never) or more", s.ScaleDownAfter))
	}
	if err := warm.CheckCapacity("--min-capacity", s.MinCapacity); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startScaler connects the service's desired capacity to the platform and
// starts scaling it down when idle.
func (n *Node) startScaler(ctx context.Context) error {
	s := n.cfg.Scaler
	if s.Spec == "" {
		return nil
	}
	c, err := scale.New(ctx, scale.Config{Spec: s.Spec, AWSEndpoint: s.AWSEndpoint, Kubeconfig: s.Kubeconfig,
		ScaleDownAfter: s.ScaleDownAfter, MinCapacity: s.MinCapacity, Log: n.cfg.Log, Now: time.Now}, busyJobs{n.Service})
	if err != nil {
		return err
	}
	n.Service.Scaler = c
	n.wg.Go(func() { c.Run(ctx) })
	n.cfg.Log.Info("scaler on", "scaler", s.Spec, "scale_down_after", s.ScaleDownAfter, "min_capacity", s.MinCapacity)
	return nil
}

// busyJobs says whether any job waits or runs.
type busyJobs struct{ s *warm.Service }

func (b busyJobs) Busy(ctx context.Context) (bool, error) {
	st, err := b.s.Stats(ctx)
	if err != nil {
		return false, err
	}
	return st.Jobs[warm.StatusCreated]+st.Jobs[warm.StatusInProgress] > 0, nil
}
