package minicdn

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// A remote POP answers as far away as its RTT says: a new connection pays
// the handshake and the request's round trip, a reused one the round trip
// alone; its cache still caches, and a bandwidth paces the body.
func TestRemotePOP(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{
		{Code: "near"}, {Code: "far", RTT: 100 * time.Millisecond}, {Code: "thin", RTT: 10 * time.Millisecond, Bandwidth: 1 << 20},
	}})
	near, far, thin := c.POP("near"), c.POP("far"), c.POP("thin")
	if far.IP == far.cacheIP || near.IP != near.cacheIP {
		t.Fatalf("addresses: far %s/%s, near %s/%s", far.IP, far.cacheIP, near.IP, near.cacheIP)
	}
	timed := func(pop *POP, u string) (time.Duration, *ViewerResponse) {
		start := time.Now()
		r := mustGet(t, c, pop, u, nil)
		return time.Since(start), r
	}
	d, r := timed(far, c.URLTLS("/far"))
	if r.Status != 200 || r.Hit {
		t.Fatalf("first GET via far: %d hit %v", r.Status, r.Hit)
	}
	// TLS over a new connection: the handshake, TLS's round trip, the
	// request's: at least three.
	if d < 300*time.Millisecond {
		t.Fatalf("first GET via a POP 100 ms away took %v", d)
	}
	d, r = timed(far, c.URLTLS("/far"))
	if !r.Hit || d < 100*time.Millisecond || d > 250*time.Millisecond {
		t.Fatalf("second GET: hit %v in %v, want one round trip", r.Hit, d)
	}
	if d, _ := timed(near, c.URL("/near")); d > 50*time.Millisecond {
		t.Fatalf("a near POP took %v", d)
	}
	// 2 MiB at 1 MiB/s: about two seconds.
	if d, r := timed(thin, c.URL("/big?size=2m")); r.BodyLen != 2<<20 || d < 1800*time.Millisecond || d > 4*time.Second {
		t.Fatalf("2 MiB through 1 MiB/s: %d bytes in %v", r.BodyLen, d)
	}
	// Requests in parallel are not serialised by the proxy.
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { mustGet(t, c, far, c.URL("/par?i="+string(rune('a'+i))), nil) })
	}
	wg.Wait()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("20 parallel GETs through a 100 ms POP took %v", d)
	}
}

// A link puts any TCP service at a distance: each exchange pays the round
// trip, and what crossed it is counted.
func TestLink(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // an echo server
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	link, err := StartLink("127.0.0.1", ln.Addr().String(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	c, err := net.Dial("tcp", link.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 5)
	start := time.Now()
	for range 3 {
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
			t.Fatalf("echo: %q %v", buf, err)
		}
	}
	// The connection's handshake and three exchanges: four round trips.
	if d := time.Since(start); d < 200*time.Millisecond || d > 600*time.Millisecond {
		t.Fatalf("three exchanges over a 50 ms link took %v", d)
	}
	// A byte is counted once written on, so the reader may see it first;
	// Close waits for the link's connections to end, and with them every
	// count.
	c.Close()
	link.Close()
	if got, want := link.Stats(), (LinkStats{BytesUp: 15, BytesDown: 15, Flights: 3}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}
