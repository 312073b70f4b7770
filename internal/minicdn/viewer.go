package minicdn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxViewerBody is how much of a response body ViewerResponse keeps; the
// rest is read and counted but dropped, so multi-GiB objects are fine.
const MaxViewerBody = 1 << 20

// ViewerResponse is what a viewer got from a POP.
type ViewerResponse struct {
	Status  int
	Proto   string
	Header  http.Header
	BodyLen int64  // bytes read in total
	Body    []byte // the first MaxViewerBody bytes
	// Hit is derived from the POP's cache headers, see IsHit.
	Hit bool
}

// IsHit reports whether response headers say the POP served from cache:
// nginx "X-Cache-Status: HIT", CloudFront "X-Cache: Hit from cloudfront",
// or varnish "X-Cache: HIT". A CloudFront RefreshHit is not a hit: the
// edge had to go back to the origin.
func IsHit(h http.Header) bool {
	if strings.EqualFold(h.Get("X-Cache-Status"), "HIT") {
		return true
	}
	xc := strings.TrimSpace(h.Get("X-Cache"))
	return strings.EqualFold(xc, "HIT") || strings.EqualFold(xc, "Hit from cloudfront")
}

// ViewerGet fetches rawURL through pop as a viewer steered there by DNS
// would: it connects to pop.IP at the URL's port, with Host and TLS SNI the
// URL's host, trusting only the CDN's CA. header is sent as is (a "Host"
// entry overrides the Host header); no Accept-Encoding is added.
func (c *CDN) ViewerGet(ctx context.Context, pop *POP, rawURL string, header http.Header) (*ViewerResponse, error) {
	return c.ViewerDo(ctx, pop, http.MethodGet, rawURL, header)
}

// ViewerDo is ViewerGet with any method (HEAD, PURGE, ...).
func (c *CDN) ViewerDo(ctx context.Context, pop *POP, method, rawURL string, header http.Header) (*ViewerResponse, error) {
	if pop == nil {
		return nil, errors.New("minicdn: nil POP")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("minicdn: parse %q: %w", rawURL, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("minicdn: new request: %w", err)
	}
	for k, vs := range header {
		if strings.EqualFold(k, "Host") {
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	resp, err := c.transportFor(pop).RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("minicdn: %s %s via %s (%s): %w", method, rawURL, pop.Code, pop.IP, err)
	}
	defer resp.Body.Close()
	vr := &ViewerResponse{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Hit: IsHit(resp.Header)}
	vr.Body, err = io.ReadAll(io.LimitReader(resp.Body, MaxViewerBody))
	vr.BodyLen = int64(len(vr.Body))
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, resp.Body)
		vr.BodyLen += n
	}
	if err != nil {
		return vr, fmt.Errorf("minicdn: read body of %s via %s: %w", rawURL, pop.Code, err)
	}
	return vr, nil
}

// Purge sends PURGE for rawURL to pop (varnish POPs) and fails unless the
// POP answers 200.
func (c *CDN) Purge(ctx context.Context, pop *POP, rawURL string) error {
	vr, err := c.ViewerDo(ctx, pop, "PURGE", rawURL, nil)
	if err != nil {
		return err
	}
	if vr.Status != http.StatusOK {
		return fmt.Errorf("minicdn: PURGE %s via %s: status %d", rawURL, pop.Code, vr.Status)
	}
	return nil
}

// transportFor returns the (cached) transport that dials pop.IP whatever
// host the URL names. Only the dial target is overridden: the transport
// still derives SNI and certificate verification from the URL's host.
func (c *CDN) transportFor(pop *POP) *http.Transport {
	if t, ok := c.transports.Load(pop.IP); ok {
		return t.(*http.Transport)
	}
	ip := pop.IP
	d := &net.Dialer{Timeout: 5 * time.Second}
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, fmt.Errorf("split %q: %w", addr, err)
			}
			return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		},
		TLSClientConfig:     &tls.Config{RootCAs: c.caPool},
		DisableCompression:  true, // keep bodies and Accept-Encoding exactly as the test set them
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	actual, _ := c.transports.LoadOrStore(ip, t)
	return actual.(*http.Transport)
}
