package scale

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"
)

// ASG is an EC2 Auto Scaling group, sized through the Auto Scaling API
// (SetDesiredCapacity, DescribeAutoScalingGroups).
type ASG struct {
	name string
	api  *autoscaling.Client
}

var _ Platform = (*ASG)(nil)

// NewASG loads the standard AWS configuration (environment, shared files,
// SSO, web identity, container and instance roles); credentials are
// resolved at the first call. The region must be configured: Auto Scaling
// groups are regional. endpoint overrides the API endpoint.
func NewASG(ctx context.Context, name, endpoint string) (*ASG, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or region in the AWS config file) to the group's region")
	}
	api := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &ASG{name: name, api: api}, nil
}

// Desire sets the group's desired capacity, without waiting for its
// cooldown: the operator asked now.
func (a *ASG) Desire(ctx context.Context, n int) error {
	_, err := a.api.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(a.name),
		DesiredCapacity:      aws.Int32(int32(n)),
		HonorCooldown:        aws.Bool(false),
	})
	return awsError("SetDesiredCapacity", err)
}

// Count is the group's desired capacity and its instances in service.
func (a *ASG) Count(ctx context.Context) (Count, error) {
	out, err := a.api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{a.name},
	})
	if err != nil {
		return Count{}, awsError("DescribeAutoScalingGroups", err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return Count{}, fmt.Errorf("no Auto Scaling group named %q in this account and region", a.name)
	}
	g := out.AutoScalingGroups[0]
	c := Count{Desired: int(aws.ToInt32(g.DesiredCapacity))}
	for _, i := range g.Instances {
		if i.LifecycleState == types.LifecycleStateInService {
			c.Instances++
		}
	}
	return c, nil
}

// awsError keeps the API's code and message — "AccessDenied: User … is not
// authorized to perform: autoscaling:SetDesiredCapacity" — and drops the
// SDK's request ids and retry chatter.
func awsError(op string, err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return fmt.Errorf("%s: %s: %s", op, api.ErrorCode(), api.ErrorMessage())
	}
	return fmt.Errorf("%s: %w", op, err)
}
