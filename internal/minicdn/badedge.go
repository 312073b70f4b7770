package minicdn

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Fault is how a bad edge misbehaves.
type Fault int

const (
	// Hang accepts connections, reads the request and never answers (a
	// hung server, a black hole behind a middlebox).
	Hang Fault = iota
	// Stall sends the headers of a 4,096-byte answer and 1,500 bytes of
	// it, then nothing more.
	Stall
	// Truncate sends the headers of a 4,096-byte answer and 4,000 bytes,
	// then closes the connection.
	Truncate
	// Reset sends the headers of a 4,096-byte answer and 2,000 bytes, then
	// resets the connection (TCP RST).
	Reset
	// Refuse answers every request 403 Forbidden, whole and promptly, as a
	// POP that geo-blocks its clients does.
	Refuse
)

func (f Fault) String() string {
	return [...]string{"hang", "stall", "truncate", "reset", "refuse"}[f]
}

// badLength is the length a bad edge's answers announce.
const badLength = 4096

// BadEdge is an edge that has gone bad in one way (see Fault), for every
// request on every connection. Put its address in an edges file.
type BadEdge struct {
	IP        string
	Fault     Fault
	listeners []net.Listener
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     []net.Conn
}

// StartHole listens at ip on each port as an edge that never answers.
func StartHole(ip string, ports ...int) (*BadEdge, error) {
	return StartBadEdge(ip, Hang, ports...)
}

// StartBadEdge listens at ip on each port as an edge with the given fault.
// It speaks plain HTTP/1.1: a TLS client gets no handshake, which to it is
// a hang.
func StartBadEdge(ip string, fault Fault, ports ...int) (*BadEdge, error) {
	e := &BadEdge{IP: ip, Fault: fault}
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			e.Close()
			return nil, err
		}
		e.listeners = append(e.listeners, ln)
		e.wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				e.mu.Lock()
				e.conns = append(e.conns, c)
				e.mu.Unlock()
				go e.serve(c)
			}
		})
	}
	return e, nil
}

// serve answers a connection's requests the bad way: a HEAD gets its
// headers (the fault is in the body) and the connection goes on; a GET
// gets the fault. A stalled or hung connection stays open until Close.
func (e *BadEdge) serve(c net.Conn) {
	r := bufio.NewReader(c)
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"+
		"Content-Length: %d\r\nCache-Control: max-age=60\r\n\r\n", badLength)
	for {
		req, err := http.ReadRequest(r)
		if err != nil || e.Fault == Hang {
			return
		}
		_ = req.Body.Close()
		if e.Fault == Refuse {
			body := ""
			if req.Method != http.MethodHead {
				body = "Forbidden"
			}
			if _, err := fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\n%s", body); err != nil {
				return
			}
			continue
		}
		if req.Method == http.MethodHead {
			if _, err := c.Write([]byte(head)); err != nil {
				return
			}
			continue
		}
		sent := map[Fault]int{Stall: 1500, Truncate: 4000, Reset: 2000}[e.Fault]
		if _, err := c.Write(append([]byte(head), make([]byte, sent)...)); err != nil {
			return
		}
		switch e.Fault {
		case Reset:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // Close sends RST
			}
			_ = c.Close()
		case Truncate:
			_ = c.Close()
		}
		return
	}
}

// Close stops listening and cuts the connections it holds.
func (e *BadEdge) Close() {
	for _, ln := range e.listeners {
		_ = ln.Close()
	}
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.conns {
		_ = c.Close()
	}
}
