package minicdn

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// A remote POP (POPSpec.RTT or Bandwidth set) is its cache behind a proxy
// that delays every byte by half the round trip each way, and paces it to
// the bandwidth: the POP is as far from a viewer as a real edge in another
// region. The cache listens on the POP's own address in a second /24; the
// proxy takes the POP's address.

// delayWindow bounds the bytes in flight one way through one connection
// (a TCP window): over a long round trip, that bounds what one connection
// carries per second, as it does on a real path.
const (
	delayChunk  = 32 << 10
	delayWindow = 64 // chunks
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, delayChunk); return &b }}

// latencyProxy forwards a remote POP's ports to its cache with the POP's
// round trip and bandwidth.
type latencyProxy struct {
	pop       *POP
	listeners []net.Listener
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]bool
	closed    bool
}

// startLatencyProxy listens on the POP's address at each port and forwards
// to the same port of its cache.
func startLatencyProxy(pop *POP, ports ...int) (*latencyProxy, error) {
	p := &latencyProxy{pop: pop, conns: map[net.Conn]bool{}}
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(pop.IP, strconv.Itoa(port)))
		if err != nil {
			p.close()
			if isAddrInUse(err) {
				return nil, errAddrInUse
			}
			return nil, err
		}
		p.listeners = append(p.listeners, ln)
		to := net.JoinHostPort(pop.cacheIP, strconv.Itoa(port))
		p.wg.Go(func() { p.serve(ln, to) })
	}
	return p, nil
}

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
	time.Sleep(p.pop.Spec.RTT)
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
	half := p.pop.Spec.RTT / 2
	wg.Go(func() { delayLine(cache, client, half, p.pop.Spec.Bandwidth) })
	delayLine(client, cache, half, p.pop.Spec.Bandwidth)
	wg.Wait()
}

// delayLine copies src to dst, each chunk delivered delay after it was
// read and no faster than bandwidth bytes a second (0: no limit), then
// half-closes dst.
func delayLine(dst, src net.Conn, delay time.Duration, bandwidth int64) {
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
		_, err := dst.Write((*c.buf)[:c.n])
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
