package invalidate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
)

// CloudFrontConfig configures the CloudFront invalidator.
type CloudFrontConfig struct {
	// Endpoint overrides the CloudFront API endpoint (tests, other
	// partitions). Empty: the SDK's default for the region.
	Endpoint string
	// Region defaults to "us-east-1": CloudFront's API is global and signs
	// there.
	Region string
	// PollInterval is how often GetInvalidation is asked while waiting;
	// default 5s.
	PollInterval time.Duration
	Log          *slog.Logger
	// Now stamps CallerReferences; default time.Now.
	Now func() time.Time
}

// Result is what one Invalidate did.
type Result struct {
	DistributionID  string
	InvalidationIDs []string
	Paths           int // distinct paths invalidated
}

// CloudFront creates CloudFront invalidations and waits for them. It is
// safe for concurrent use.
type CloudFront struct {
	api  *cloudfront.Client
	poll time.Duration
	log  *slog.Logger
	now  func() time.Time
	seq  atomic.Uint64 // keeps CallerReferences of concurrent calls apart
}

const (
	statusCompleted = "Completed"
	codeTooMany     = "TooManyInvalidationsInProgress"
)

// NewCloudFront loads the standard AWS configuration (environment, shared
// config and credentials files, SSO, web identity, container and EC2
// instance roles). It does not fail when no credentials exist yet: the SDK
// resolves them at the first API call, so a server can start before its
// role is attached and only jobs that invalidate need them.
func NewCloudFront(ctx context.Context, cfg CloudFrontConfig) (*CloudFront, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	api := cloudfront.NewFromConfig(awsCfg, func(o *cloudfront.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &CloudFront{api: api, poll: cfg.PollInterval, log: cfg.Log, now: cfg.Now}, nil
}

// Invalidate removes urls from the distribution's edges and returns once
// CloudFront reports every invalidation Completed, or when ctx ends (the
// caller bounds it with the job's timeout). The distribution is
// distributionID when given, else the one whose domain name or alternate
// domain name is cfDomain. All paths go in one invalidation unless they
// exceed CloudFront's per-request quotas (3,000 paths, 15 wildcard paths).
// On error the Result still says what was found and created, for the log.
func (c *CloudFront) Invalidate(ctx context.Context, cfDomain, distributionID string, urls []string) (Result, error) {
	var bad []string
	for _, u := range urls {
		if _, ok := path(u); !ok {
			bad = append(bad, u)
		}
	}
	if len(bad) > 0 {
		return Result{}, fmt.Errorf("cannot invalidate %d URLs that do not parse, first %q", len(bad), bad[0])
	}
	paths := Paths(urls)
	res := Result{Paths: len(paths)}
	if len(paths) == 0 {
		return res, errors.New("no URL to invalidate")
	}
	if err := c.credentials(ctx); err != nil {
		return res, err
	}
	id := strings.TrimSpace(distributionID)
	if id == "" {
		var err error
		if id, err = c.findDistribution(ctx, cfDomain); err != nil {
			return res, err
		}
	}
	res.DistributionID = id

	call := c.seq.Add(1)
	stamp := c.now().UnixNano()
	status := make(map[string]string)
	var pending []string // created, not yet seen Completed
	for i, batch := range batches(paths) {
		// Fixed before the first attempt, so the SDK's own retries and
		// ours after TooManyInvalidationsInProgress are idempotent:
		// CloudFront answers a repeated reference with the same batch by
		// returning the invalidation it already made.
		ref := fmt.Sprintf("prewarm-%d-%d-%d", stamp, call, i+1)
		inv, err := c.create(ctx, id, ref, batch, &pending, status)
		if err != nil {
			return res, err
		}
		res.InvalidationIDs = append(res.InvalidationIDs, inv)
	}
	if err := c.wait(ctx, id, pending, status); err != nil {
		return res, err
	}
	c.log.InfoContext(ctx, "cloudfront invalidation completed",
		"distribution", id, "invalidations", res.InvalidationIDs, "paths", res.Paths)
	return res, nil
}

// credentials resolves the credentials up front, so a machine without any
// gets one plain error naming where they are looked for instead of the
// SDK's error of whichever API call came first. The SDK caches them, so
// this costs nothing once they are known.
func (c *CloudFront) credentials(ctx context.Context) error {
	p := c.api.Options().Credentials
	if p == nil {
		return errors.New("no AWS credentials provider configured")
	}
	if _, err := p.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("resolve AWS credentials: cut short when the %s: %w", ctxReason(ctx), ctx.Err())
		}
		return fmt.Errorf("no usable AWS credentials for CloudFront (looked in the environment, shared config and credentials files, SSO, web identity, container and EC2 instance roles): %w", err)
	}
	return nil
}

// create makes one invalidation. When CloudFront refuses it because too
// many paths are already being invalidated (its quotas count every
// in-progress invalidation, so a second batch can hit them while the first
// runs), it waits for this call's own pending invalidations to complete —
// or, with none pending, one poll interval for someone else's — and tries
// again until ctx ends.
func (c *CloudFront) create(ctx context.Context, distID, ref string, batch []string, pending *[]string, status map[string]string) (string, error) {
	in := &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(distID),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(ref),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(batch))), Items: batch},
		},
	}
	for {
		out, err := c.api.CreateInvalidation(ctx, in)
		if err == nil && (out.Invalidation == nil || out.Invalidation.Id == nil) {
			err = errors.New("CloudFront answered without an invalidation id")
		}
		if err == nil {
			inv := aws.ToString(out.Invalidation.Id)
			st := aws.ToString(out.Invalidation.Status)
			status[inv] = st
			if st != statusCompleted {
				*pending = append(*pending, inv)
			}
			c.log.InfoContext(ctx, "cloudfront invalidation created",
				"distribution", distID, "invalidation", inv, "paths", len(batch), "status", st)
			return inv, nil
		}
		what := fmt.Sprintf("create invalidation of %d paths on CloudFront distribution %s", len(batch), distID)
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: cut short when the %s: %w", what, ctxReason(ctx), ctx.Err())
		}
		if apiCode(err) != codeTooMany {
			return "", apiErr(what, err)
		}
		c.log.WarnContext(ctx, "cloudfront refuses more invalidations for now; waiting",
			"distribution", distID, "pending", *pending, "error", err)
		if len(*pending) > 0 {
			if err := c.wait(ctx, distID, *pending, status); err != nil {
				return "", err
			}
			*pending = nil
			continue
		}
		if err := sleep(ctx, c.poll); err != nil {
			return "", fmt.Errorf("%s: CloudFront still reported %s (other invalidations of the distribution in progress) when the %s: %w",
				what, codeTooMany, ctxReason(ctx), err)
		}
	}
}

// wait polls each pending invalidation until CloudFront reports it
// Completed. A poll that fails for a passing reason (throttling, network,
// 5xx: the SDK has already retried it) is logged and asked again next
// time, because an invalidation takes minutes and one bad answer should
// not fail the job; a refusal (access denied, no such invalidation) ends
// the wait.
func (c *CloudFront) wait(ctx context.Context, distID string, pending []string, status map[string]string) error {
	left := append([]string(nil), pending...)
	for len(left) > 0 {
		if err := sleep(ctx, c.poll); err != nil {
			return c.timeUp(ctx, distID, left, status)
		}
		var still []string
		for _, inv := range left {
			out, err := c.api.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{
				DistributionId: aws.String(distID), Id: aws.String(inv),
			})
			if ctx.Err() != nil {
				return c.timeUp(ctx, distID, left, status)
			}
			if err != nil {
				if permanent(err) {
					return apiErr(fmt.Sprintf("get invalidation %s of CloudFront distribution %s", inv, distID), err)
				}
				c.log.WarnContext(ctx, "cloudfront invalidation status unknown; asking again",
					"distribution", distID, "invalidation", inv, "error", err)
				still = append(still, inv)
				continue
			}
			st := ""
			if out.Invalidation != nil {
				st = aws.ToString(out.Invalidation.Status)
			}
			status[inv] = st
			if st == statusCompleted {
				c.log.InfoContext(ctx, "cloudfront invalidation done", "distribution", distID, "invalidation", inv)
				continue
			}
			still = append(still, inv)
		}
		left = still
	}
	return nil
}

// timeUp is the error for a wait cut short by ctx, naming what is left.
func (c *CloudFront) timeUp(ctx context.Context, distID string, left []string, status map[string]string) error {
	parts := make([]string, len(left))
	for i, inv := range left {
		st := status[inv]
		if st == "" {
			st = "not Completed"
		}
		parts[i] = "invalidation " + inv + " still " + st
	}
	return fmt.Errorf("CloudFront distribution %s: %s when the %s: %w",
		distID, strings.Join(parts, ", "), ctxReason(ctx), ctx.Err())
}

// findDistribution walks every page of ListDistributions for the
// distribution whose domain name or alternate domain name is domain. An
// exact name wins; failing that, a wildcard alternate domain name
// (*.example.com) covering domain is taken, as CloudFront itself would
// route the viewer there.
func (c *CloudFront) findDistribution(ctx context.Context, domain string) (string, error) {
	want := normDomain(domain)
	if want == "" {
		return "", errors.New("no CloudFront distribution id and no cf_domain to find it by")
	}
	var marker *string
	seen := make(map[string]bool)
	checked := 0
	wildcard := ""
	for {
		out, err := c.api.ListDistributions(ctx, &cloudfront.ListDistributionsInput{Marker: marker})
		if err != nil {
			return "", apiErr("list CloudFront distributions", err)
		}
		dl := out.DistributionList
		if dl == nil {
			break
		}
		for _, d := range dl.Items {
			checked++
			id := aws.ToString(d.Id)
			if normDomain(aws.ToString(d.DomainName)) == want {
				return id, nil
			}
			if d.Aliases == nil {
				continue
			}
			for _, a := range d.Aliases.Items {
				a = normDomain(a)
				if a == want {
					return id, nil
				}
				if wildcard == "" && coversWildcard(a, want) {
					wildcard = id
				}
			}
		}
		next := aws.ToString(dl.NextMarker)
		if !aws.ToBool(dl.IsTruncated) || next == "" {
			break
		}
		if seen[next] {
			return "", fmt.Errorf("list CloudFront distributions: the API repeated page marker %q", next)
		}
		seen[next] = true
		marker = aws.String(next)
	}
	if wildcard != "" {
		c.log.InfoContext(ctx, "cloudfront distribution found by wildcard alternate domain name",
			"domain", want, "distribution", wildcard)
		return wildcard, nil
	}
	return "", fmt.Errorf("no CloudFront distribution has domain name or alternate domain name %s (checked %d distributions)", want, checked)
}

// normDomain makes a cf_domain comparable with what CloudFront lists:
// lower case, no trailing dot, and no scheme, port or path in case a URL
// was given.
func normDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Hostname()
		}
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// coversWildcard: "*.example.com" covers exactly one more label, like a
// wildcard certificate.
func coversWildcard(alias, host string) bool {
	suffix, ok := strings.CutPrefix(alias, "*")
	if !ok || !strings.HasPrefix(suffix, ".") {
		return false
	}
	label, ok := strings.CutSuffix(host, suffix)
	return ok && label != "" && !strings.Contains(label, ".")
}

// apiErr reports an AWS error by its code and message — what an operator
// looks up and what IAM policies name — instead of the SDK's long
// "operation error …, https response error StatusCode …" text. The SDK
// error stays wrapped for errors.As.
func apiErr(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return &awsError{what: what, code: ae.ErrorCode(), msg: ae.ErrorMessage(), err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

type awsError struct {
	what, code, msg string
	err             error
}

func (e *awsError) Error() string {
	s := e.what + ": " + e.code
	if e.msg != "" && e.msg != e.code {
		s += ": " + e.msg
	}
	return s
}

func (e *awsError) Unwrap() error { return e.err }

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// permanent: an error asking again will not change — a client fault other
// than throttling.
func permanent(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorFault() == smithy.FaultServer {
		return false
	}
	switch ae.ErrorCode() {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
		"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete":
		return false
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return false
	}
	return true
}

// ctxReason words why ctx ended, for an operator reading the job's
// message.
func ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "job was stopped"
	}
	return "job's time ran out"
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
