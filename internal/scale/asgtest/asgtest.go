// Package asgtest is a stand-in of the EC2 Auto Scaling Query API for
// tests: SetDesiredCapacity and DescribeAutoScalingGroups of one group,
// form-encoded requests answered in the API's XML, with its AccessDenied
// and ValidationError answers.
package asgtest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"prewarm/internal/awstest"
)

// The static credentials Env puts in the environment; requests not signed
// with AccessKey are reported.
const (
	AccessKey = "AKIDPREWARMASGTEST"
	SecretKey = "test-secret-key"
	Region    = "eu-west-1"
)

const ns = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// Fake is one Auto Scaling group. Set its exported fields before Start;
// read the rest through its methods, safe for concurrent use.
type Fake struct {
	Group   string
	MinSize int
	MaxSize int
	// Desired is the group's desired capacity at the start.
	Desired int
	// DenySet refuses every SetDesiredCapacity with AccessDenied, as IAM
	// does for a role without autoscaling:SetDesiredCapacity.
	DenySet bool

	mu   sync.Mutex
	sets []int // each accepted SetDesiredCapacity
}

// Sets are the desired capacities accepted, in order.
func (f *Fake) Sets() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sets...)
}

// Current is the desired capacity now.
func (f *Fake) Current() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Desired
}

// Start serves the fake on an httptest server closed at t's cleanup; requests
// not signed with AccessKey for autoscaling in Region are reported.
func (f *Fake) Start(t testing.TB) *httptest.Server {
	return awstest.Serve(t, http.HandlerFunc(f.serve), AccessKey, Region, "autoscaling")
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeError(w, http.StatusBadRequest, "Sender", "MalformedQueryString", "expected a form-encoded POST")
		return
	}
	if v := r.PostForm.Get("Version"); v != "2011-01-01" {
		writeError(w, http.StatusBadRequest, "Sender", "InvalidAction", "unknown version "+v)
		return
	}
	switch a := r.PostForm.Get("Action"); a {
	case "SetDesiredCapacity":
		f.setDesired(w, r)
	case "DescribeAutoScalingGroups":
		f.describe(w, r)
	default:
		writeError(w, http.StatusBadRequest, "Sender", "InvalidAction", "The action "+a+" is not valid for this web service.")
	}
}

func (f *Fake) setDesired(w http.ResponseWriter, r *http.Request) {
	name := r.PostForm.Get("AutoScalingGroupName")
	n, err := strconv.Atoi(r.PostForm.Get("DesiredCapacity"))
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.DenySet:
		writeError(w, http.StatusForbidden, "Sender", "AccessDenied",
			"User: arn:aws:sts::123456789012:assumed-role/prewarm/i-0abc is not authorized to perform: autoscaling:SetDesiredCapacity on resource: "+name)
	case name != f.Group:
		writeError(w, http.StatusBadRequest, "Sender", "ValidationError", "AutoScalingGroup name not found - no such group: "+name)
	case err != nil:
		writeError(w, http.StatusBadRequest, "Sender", "ValidationError", "DesiredCapacity: not a number")
	case n < f.MinSize || n > f.MaxSize:
		writeError(w, http.StatusBadRequest, "Sender", "ValidationError",
			fmt.Sprintf("New SetDesiredCapacity value %d is outside of the group's min size %d and max size %d.", n, f.MinSize, f.MaxSize))
	default:
		f.Desired = n
		f.sets = append(f.sets, n)
		awstest.WriteXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"SetDesiredCapacityResponse"`
			NS      string   `xml:"xmlns,attr"`
			Meta    meta     `xml:"ResponseMetadata"`
		}{NS: ns, Meta: meta{RequestID: "req-set"}})
	}
}

type meta struct {
	RequestID string `xml:"RequestId"`
}

type instance struct {
	InstanceID       string `xml:"InstanceId"`
	LifecycleState   string
	HealthStatus     string
	AvailabilityZone string
}

type group struct {
	AutoScalingGroupName string
	MinSize              int
	MaxSize              int
	DesiredCapacity      int
	Instances            []instance `xml:"Instances>member"`
}

// describe answers for the group if it is named; its instances are the
// desired capacity, in service (the stand-in launches at once).
func (f *Fake) describe(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var groups []group
	for k, v := range r.PostForm {
		if strings.HasPrefix(k, "AutoScalingGroupNames.member.") && len(v) == 1 && v[0] == f.Group {
			g := group{AutoScalingGroupName: f.Group, MinSize: f.MinSize, MaxSize: f.MaxSize, DesiredCapacity: f.Desired}
			for i := range f.Desired {
				g.Instances = append(g.Instances, instance{InstanceID: fmt.Sprintf("i-%04d", i), LifecycleState: "InService",
					HealthStatus: "Healthy", AvailabilityZone: Region + "a"})
			}
			groups = append(groups, g)
		}
	}
	awstest.WriteXML(w, http.StatusOK, struct {
		XMLName xml.Name `xml:"DescribeAutoScalingGroupsResponse"`
		NS      string   `xml:"xmlns,attr"`
		Groups  []group  `xml:"DescribeAutoScalingGroupsResult>AutoScalingGroups>member"`
		Meta    meta     `xml:"ResponseMetadata"`
	}{NS: ns, Groups: groups, Meta: meta{RequestID: "req-describe"}})
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	awstest.WriteXML(w, status, struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}{NS: ns, Type: typ, Code: code, Message: msg, RequestID: "req-error"})
}

// Env is the environment that points the AWS SDK at the test credentials
// and region and away from any real configuration on the machine (see
// awstest.Env); dir holds the (absent) shared config files.
func Env(dir string) map[string]string {
	env := awstest.Env(dir, AccessKey, SecretKey, "AUTO_SCALING")
	env["AWS_REGION"] = Region
	return env
}
