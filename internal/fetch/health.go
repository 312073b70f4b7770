package fetch

import (
	"fmt"
	"time"
)

// An edge address that accepts requests and never answers them (a black
// hole, a hung POP), or answers and stops sending the body, costs every
// attempt the whole header or idle timeout, and holds its fetch slot
// meanwhile. After hangAfter such attempts in a row, with no
// answer between, the address is left alone for hangPause: attempts to it
// fail at once, saying why, and a task's next attempt goes to the POP's
// other addresses; then attempts are let through again, and the first that
// hangs pauses it anew. Any whole answer, whatever its status, clears it.
const (
	hangAfter = 8
	hangPause = 30 * time.Second
)

type addrHealth struct {
	hangs      int
	lastErr    string
	pausedTill time.Time
}

// unresponsive is why an attempt to addr fails at once, or "" to try it.
func (c *Client) unresponsive(addr string) string {
	if addr == direct {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.health[addr]
	if h == nil || !c.cfg.Now().Before(h.pausedTill) {
		return ""
	}
	return fmt.Sprintf("%s, %d attempts in a row; not asked again until %s", h.lastErr, h.hangs,
		h.pausedTill.UTC().Format(time.TimeOnly))
}

// heard records how an attempt to addr ended: an answer (errText ""),
// a hang, or another failure, which says nothing of hanging.
func (c *Client) heard(addr, errText string, hang bool) {
	if addr == direct {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.health[addr]
	switch {
	case errText == "":
		delete(c.health, addr)
	case hang:
		if h == nil {
			h = &addrHealth{}
			c.health[addr] = h
		}
		h.hangs++
		h.lastErr = errText
		if h.hangs >= hangAfter {
			h.pausedTill = c.cfg.Now().Add(hangPause)
		}
	}
}
