// Package scale sizes the machines the agents run on: it connects the
// desired capacity of POST /instances and a job's instance_count to an AWS
// Auto Scaling group (aws-asg:NAME) or a Kubernetes Deployment
// (k8s:NAMESPACE/DEPLOYMENT), and scales the fleet back down to a floor
// once no job has run for a while. asgtest and kubetest are stand-ins of
// those platforms' APIs, speaking their real protocols, for tests.
package scale
