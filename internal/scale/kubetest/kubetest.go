// Package kubetest is a stand-in of the Kubernetes API server for tests:
// the scale subresource of Deployments (GET and PUT
// /apis/apps/v1/namespaces/NS/deployments/NAME/scale) in JSON, with bearer
// token authentication and the server's 403 and 404 Status answers.
package kubetest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Token is the bearer token the kubeconfig of Kubeconfig carries.
const Token = "prewarm-test-token"

// Fake is one Deployment. Set its exported fields before Start; read the
// rest through its methods, safe for concurrent use.
type Fake struct {
	Namespace, Name string
	// Replicas at the start.
	Replicas int
	// DenyUpdate refuses every update of the scale with 403 Forbidden, as
	// RBAC does for a Role without update on deployments/scale.
	DenyUpdate bool

	mu      sync.Mutex
	updates []int
	version int
}

// Updates are the replicas of each accepted update, in order.
func (f *Fake) Updates() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.updates...)
}

// Current is the replicas now.
func (f *Fake) Current() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Replicas
}

// Start serves the fake on an httptest server closed at t's cleanup.
func (f *Fake) Start(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	path := "/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale"
	mux.HandleFunc("GET "+path, f.get)
	mux.HandleFunc("PUT "+path, f.put)
	// TLS, as every API server: client-go sends credentials only over it.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+Token {
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", nil)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (f *Fake) found(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("ns") == f.Namespace && r.PathValue("name") == f.Name {
		return true
	}
	writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound,
		fmt.Sprintf("deployments.apps %q not found", r.PathValue("name")), details(r.PathValue("name")))
	return false
}

func (f *Fake) get(w http.ResponseWriter, r *http.Request) {
	if !f.found(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, http.StatusOK, f.scale())
}

func (f *Fake) put(w http.ResponseWriter, r *http.Request) {
	if !f.found(w, r) {
		return
	}
	if f.DenyUpdate {
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, fmt.Sprintf(
			"deployments.apps %q is forbidden: User \"system:serviceaccount:%s:prewarm\" cannot update resource \"deployments/scale\" in API group \"apps\" in the namespace %q",
			f.Name, f.Namespace, f.Namespace), details(f.Name))
		return
	}
	var s autoscalingv1.Scale
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil || s.Kind != "Scale" || s.APIVersion != "autoscaling/v1" || s.Name != f.Name {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("not an autoscaling/v1 Scale of %s: %v", f.Name, err), nil)
		return
	}
	if s.Spec.Replicas < 0 {
		writeStatus(w, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "spec.replicas: must be greater than or equal to 0", details(f.Name))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v := s.ResourceVersion; v != "" && v != strconv.Itoa(f.version) {
		writeStatus(w, http.StatusConflict, metav1.StatusReasonConflict, "the object has been modified", details(f.Name))
		return
	}
	f.Replicas = int(s.Spec.Replicas)
	f.version++
	f.updates = append(f.updates, f.Replicas)
	writeJSON(w, http.StatusOK, f.scale())
}

// scale is the Deployment's Scale; its pods are all created at once.
func (f *Fake) scale() *autoscalingv1.Scale {
	return &autoscalingv1.Scale{
		TypeMeta:   metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: f.Name, Namespace: f.Namespace, ResourceVersion: strconv.Itoa(f.version)},
		Spec:       autoscalingv1.ScaleSpec{Replicas: int32(f.Replicas)},
		Status:     autoscalingv1.ScaleStatus{Replicas: int32(f.Replicas), Selector: "app.kubernetes.io/name=prewarm-agent"},
	}
}

func details(name string) *metav1.StatusDetails {
	return &metav1.StatusDetails{Name: name, Group: "apps", Kind: "deployments"}
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string, d *metav1.StatusDetails) {
	writeJSON(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Details: d, Code: int32(code),
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Kubeconfig writes a kubeconfig that reaches srv with Token, trusting its
// certificate, and returns its path.
func Kubeconfig(t testing.TB, srv *httptest.Server) string {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority-data: %s}
users:
- name: prewarm
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: prewarm}
current-context: test
`, srv.URL, base64.StdEncoding.EncodeToString(ca), Token)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
