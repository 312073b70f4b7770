package minicdn

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A remote POP (POPSpec.RTT or Bandwidth set) is its cache behind a proxy
// that delays every byte by half the round trip each way, and paces it to
// the bandwidth: the POP is as far from a viewer as a real edge in another
// region. The cache listens on the POP's own address in a second /24; the
// proxy takes the POP's address. StartLink puts any other TCP service (a
// database an agent reaches from another region) at the same distance.

// delayWindow bounds the bytes in flight one way through one connection
// (a TCP window): over a long round trip, that bounds what one connection
// carries per second, as it does on a real path.
const (
	delayChunk  = 32 << 10
	delayWindow = 64 // chunks
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, delayChunk); return &b }}

// latencyProxy forwards ports to a target with a round trip and a
// bandwidth.
type latencyProxy struct {
	rtt       time.Duration
	bandwidth int64 // bytes a second; 0: no limit
	listeners []net.Listener
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]bool
	closed    bool
	// What crossed the proxy: bytes each way, and the flights the client
	// sent (reads of its side: a burst written at once arrives as one).
	up, down, flights atomic.Int64
}

// startLatencyProxy listens on the POP's address at each port and forwards
// to the same port of its cache.
func startLatencyProxy(pop *POP, ports ...int) (*latencyProxy, error) {
	p := &latencyProxy{rtt: pop.Spec.RTT, bandwidth: pop.Spec.Bandwidth, conns: map[net.Conn]bool{}}
	for _, port := range ports {
		if err := p.listen(net.JoinHostPort(pop.IP, strconv.Itoa(port)), net.JoinHostPort(pop.cacheIP, strconv.Itoa(port))); err != nil {
			p.close()
			if isAddrInUse(err) {
				return nil, errAddrInUse
			}
			return nil, err
		}
	}
	return p, nil
}

// listen forwards connections to addr (host:port, port 0 for any) to the
// target.
func (p *latencyProxy) listen(addr, to string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.listeners = append(p.listeners, ln)
	p.wg.Go(func() { p.serve(ln, to) })
	return nil
}

// Link is a TCP service put at a distance: connections to Addr reach the
// target with the link's round trip added.
type Link struct {
	Addr  string // host:port to connect to
	proxy *latencyProxy
}

// StartLink listens on a free port of listenIP and forwards each
// connection to target (host:port) with rtt added to every round trip, as
// the network between two regions would.
func StartLink(listenIP, target string, rtt time.Duration) (*Link, error) {
	if rtt < 0 {
		return nil, errors.New("minicdn: a link's round trip is not negative")
	}
	p := &latencyProxy{rtt: rtt, conns: map[net.Conn]bool{}}
	if err := p.listen(net.JoinHostPort(listenIP, "0"), target); err != nil {
		return nil, err
	}
	return &Link{Addr: p.listeners[0].Addr().String(), proxy: p}, nil
}

// LinkStats is what crossed a link: bytes each way and the flights of
// requests the client sent (a burst of writes that arrived together counts
// once, so pipelined queries count as one flight).
type LinkStats struct {
	BytesUp, BytesDown, Flights int64
}

// Stats is what crossed the link so far, on connections that ended and
// ones still open alike (bytes are counted as they are delivered).
func (l *Link) Stats() LinkStats {
	return LinkStats{BytesUp: l.proxy.up.Load(), BytesDown: l.proxy.down.Load(), Flights: l.proxy.flights.Load()}
}

// Close stops the link and cuts its connections.
func (l *Link) Close() { l.proxy.close() }

func isAddrInUse(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "listen"
}

func (p *latencyProxy) serve(ln net.Listener, to string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.forward(c, to) })
	}
}

// track remembers a connection so that close can cut it; false once closed.
func (p *latencyProxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on && p.closed {
		return false
	}
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *latencyProxy) forward(client net.Conn, to string) {
	defer client.Close()
	if !p.track(client, true) {
		return
	}
	defer p.track(client, false)
	// The handshake a real connection pays: one round trip before the
	// first byte gets through.
	time.Sleep(p.rtt)
	cache, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer cache.Close()
	if !p.track(cache, true) {
		return
	}
	defer p.track(cache, false)
	var wg sync.WaitGroup
	half := p.rtt / 2
	wg.Go(func() { delayLine(client, cache, half, p.bandwidth, &p.down, nil) })
	delayLine(cache, client, half, p.bandwidth, &p.up, &p.flights)
	wg.Wait()
}

// delayLine copies src to dst, each chunk delivered delay after it was
// read and no faster than bandwidth bytes a second (0: no limit), then
// half-closes dst. It adds the bytes it delivers to copied and counts its
// reads of src in reads (if not nil).
func delayLine(dst, src net.Conn, delay time.Duration, bandwidth int64, copied, reads *atomic.Int64) {
	type chunk struct {
		buf *[]byte
		n   int
		at  time.Time
	}
	line := make(chan chunk, delayWindow)
	go func() {
		defer close(line)
		for {
			bp := chunkPool.Get().(*[]byte)
			n, err := src.Read(*bp)
			if n > 0 && reads != nil {
				reads.Add(1)
			}
			if n > 0 {
				line <- chunk{bp, n, time.Now().Add(delay)}
			} else {
				chunkPool.Put(bp)
			}
			if err != nil {
				return
			}
		}
	}()
	var sent time.Time // when the bandwidth lets the next byte out
	for c := range line {
		at := c.at
		if bandwidth > 0 {
			if sent.After(at) {
				at = sent
			}
			sent = at.Add(time.Duration(int64(c.n) * int64(time.Second) / bandwidth))
		}
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		n, err := dst.Write((*c.buf)[:c.n])
		copied.Add(int64(n))
		chunkPool.Put(c.buf)
		if err != nil {
			_ = src.Close()
			for c := range line { // let the reader finish
				chunkPool.Put(c.buf)
			}
			return
		}
	}
	if tc, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

// close stops listening and cuts every connection.
func (p *latencyProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	for _, ln := range p.listeners {
		_ = ln.Close()
	}
	p.wg.Wait()
}
