package scale

import (
	"context"
	"errors"
	"fmt"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Kube is a Kubernetes Deployment, sized through its scale subresource
// (GET and PUT /apis/apps/v1/namespaces/NS/deployments/NAME/scale): the
// Role it needs is only get and update on deployments/scale.
type Kube struct {
	namespace, name string
	api             appsv1.DeploymentInterface
}

var _ Platform = (*Kube)(nil)

// NewKube reaches the cluster through kubeconfig when it is given, else
// through the pod's service account (its token and CA, which client-go
// reads again as they rotate), else through $KUBECONFIG or ~/.kube/config.
// target is NAMESPACE/DEPLOYMENT.
func NewKube(target, kubeconfig string) (*Kube, error) {
	ns, name, _ := strings.Cut(target, "/")
	cfg, err := kubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "prewarm"
	// JSON, which every API server and proxy in front of one speaks,
	// rather than client-go's default of protobuf for built-in types.
	cfg.ContentType, cfg.AcceptContentTypes = "application/json", "application/json"
	api, err := appsv1.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Kube{namespace: ns, name: name, api: api.Deployments(ns)}, nil
}

func kubeConfig(path string) (*rest.Config, error) {
	if path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, kerr := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if kerr != nil {
		return nil, fmt.Errorf("not in a cluster (%v) and no kubeconfig (%v): pass --kubeconfig", err, kerr)
	}
	return cfg, nil
}

// Desire sets the Deployment's replicas. The update names no
// resourceVersion: the count asked for wins over any made meanwhile.
func (k *Kube) Desire(ctx context.Context, n int) error {
	s := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: k.name, Namespace: k.namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: int32(n)},
	}
	_, err := k.api.UpdateScale(ctx, k.name, s, metav1.UpdateOptions{})
	return k.kubeError("update", err)
}

// Count is the Deployment's replicas asked for and created.
func (k *Kube) Count(ctx context.Context) (Count, error) {
	s, err := k.api.GetScale(ctx, k.name, metav1.GetOptions{})
	if err != nil {
		return Count{}, k.kubeError("get", err)
	}
	return Count{Desired: int(s.Spec.Replicas), Instances: int(s.Status.Replicas)}, nil
}

// kubeError keeps the API server's Status message — "deployments.apps
// \"agent\" is forbidden: User … cannot update resource …" — with its
// reason.
func (k *Kube) kubeError(verb string, err error) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		return fmt.Errorf("%s deployments/scale %s/%s: %s (%s)", verb, k.namespace, k.name, st.Message, st.Reason)
	}
	return fmt.Errorf("%s deployments/scale %s/%s: %w", verb, k.namespace, k.name, err)
}
