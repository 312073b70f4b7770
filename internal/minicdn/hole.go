package minicdn

import (
	"net"
	"strconv"
	"sync"
)

// Hole is an edge that has gone bad the quiet way: it accepts connections
// and reads what is sent, and never answers (a hung server, a black hole
// behind a middlebox). Put its address in an edges file.
type Hole struct {
	IP        string
	listeners []net.Listener
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     []net.Conn
}

// StartHole listens at ip on each port.
func StartHole(ip string, ports ...int) (*Hole, error) {
	h := &Hole{IP: ip}
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			h.Close()
			return nil, err
		}
		h.listeners = append(h.listeners, ln)
		h.wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				h.mu.Lock()
				h.conns = append(h.conns, c)
				h.mu.Unlock()
				go func() { _, _ = c.Read(make([]byte, 64<<10)) }() // read the request, answer nothing
			}
		})
	}
	return h, nil
}

// Close stops listening and cuts the connections it holds.
func (h *Hole) Close() {
	for _, ln := range h.listeners {
		_ = ln.Close()
	}
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
}
