package api

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"prewarm/internal/warm"
)

// postInstances sets the desired capacity and, with force_stop: true and a
// req_id, stops that one job: POST /instances.
func (s *Server) postInstances(r *http.Request) (any, error) {
	f, err := readFields(r, nil)
	if err != nil {
		return nil, err
	}
	capacity, err := f.integer("DesiredCapacity")
	if err != nil {
		return nil, err
	}
	if capacity == nil {
		return nil, warm.Invalid("DesiredCapacity", "is required (0..%d)", warm.MaxCapacity)
	}
	id, err := f.str("req_id")
	if err != nil {
		return nil, err
	}
	forceStop, err := f.boolean("force_stop")
	if err != nil {
		return nil, err
	}
	if err := f.unknown(); err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	if forceStop && id == "" {
		return nil, warm.Invalid("req_id", "is required with force_stop")
	}
	if err := warm.CheckCapacity("DesiredCapacity", *capacity); err != nil {
		return nil, err
	}
	if forceStop {
		// Stop first: a stop of an unknown job must not change the capacity.
		if _, err := s.cfg.Service.Stop(r.Context(), id); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Service.SetCapacity(r.Context(), *capacity); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("desired capacity set to %d", *capacity)
	if forceStop {
		msg += "; job " + id + " stopped"
	}
	s.cfg.Log.Info("instances updated", "desired", *capacity, "stopped", forceStop, "job", id, "key", KeyName(r.Context()))
	return InstancesResponse{Status: "success", Timestamp: timestamp(s.cfg.Now()), Message: msg}, nil
}

// getInstances reports the desired capacity and the live agents: GET /instances.
func (s *Server) getInstances(r *http.Request) (any, error) {
	fleet, err := s.cfg.Service.Fleet(r.Context())
	if err != nil {
		return nil, err
	}
	resp := InstancesStatus{
		InstancesResponse: InstancesResponse{Status: "success", Timestamp: timestamp(s.cfg.Now()), Message: "query success"},
		DesiredCapacity:   fleet.Desired,
		Agents:            []AgentJSON{},
	}
	for _, a := range fleet.Agents {
		resp.Agents = append(resp.Agents, AgentJSON{ID: a.ID, Name: a.Name, Host: a.Host, Concurrency: a.Concurrency, Location: a.Location,
			Batches: a.Batches, DBRoundTripMS: math.Round(float64(a.DBRoundTrip.Microseconds())/10) / 100,
			Busy: a.Busy, State: a.State(), LastHeartbeat: timestamp(a.LastHeartbeat)})
	}
	if p := fleet.Platform; p != nil {
		resp.Platform = &PlatformJSON{Scaler: p.Scaler, Desired: p.Desired, Instances: p.Instances}
		if fleet.PlatformErr != nil {
			resp.Platform.Error = fleet.PlatformErr.Error()
		}
	}
	return resp, nil
}
