package edge

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Answers the resolver keeps, as any caching resolver does: a job's plan
// asks for the same POP names and URL hosts as the job before it, and a
// burst of small jobs asked the DNS server three or four questions each.
const (
	// maxAnswerTTL bounds how long an answer is kept whatever its TTL says,
	// so an edge that moved is noticed within minutes.
	maxAnswerTTL = 5 * time.Minute
	// maxAnswers bounds the memory: past it, expired answers are dropped,
	// and all of them if none has expired.
	maxAnswers = 4096
)

type answerKey struct {
	name  string // lower case, fully qualified
	qtype uint16
}

type keptAnswer struct {
	msg     *dns.Msg
	expires time.Time
}

// answers is a TTL cache of DNS answers. The messages it returns are
// shared: callers read them and never change them.
type answers struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[answerKey]keptAnswer
}

func newAnswers(now func() time.Time) *answers {
	return &answers{now: now, m: map[answerKey]keptAnswer{}}
}

func keyOf(name string, qtype uint16) answerKey {
	return answerKey{name: strings.ToLower(dns.Fqdn(name)), qtype: qtype}
}

// get returns the answer kept for the question, if it has not expired.
func (a *answers) get(k answerKey) (*dns.Msg, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	kept, ok := a.m[k]
	if !ok {
		return nil, false
	}
	if !a.now().Before(kept.expires) {
		delete(a.m, k)
		return nil, false
	}
	return kept.msg, true
}

// put keeps an answer for as long as it may be kept (see keepFor).
func (a *answers) put(k answerKey, msg *dns.Msg) {
	ttl := keepFor(msg)
	if ttl <= 0 {
		return
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= maxAnswers {
		for key, kept := range a.m {
			if !now.Before(kept.expires) {
				delete(a.m, key)
			}
		}
		if len(a.m) >= maxAnswers {
			clear(a.m)
		}
	}
	a.m[k] = keptAnswer{msg: msg, expires: now.Add(ttl)}
}

// keepFor is how long an answer may be kept: the lowest TTL of its
// records; for a name that does not exist or has no record of the type,
// the negative TTL of the zone's SOA in the authority section (RFC 2308:
// the lower of the SOA's TTL and its MINIMUM), and not at all without one.
// Never longer than maxAnswerTTL.
func keepFor(msg *dns.Msg) time.Duration {
	var ttl uint32
	switch {
	case msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError:
		return 0
	case msg.Rcode == dns.RcodeSuccess && len(msg.Answer) > 0:
		ttl = msg.Answer[0].Header().Ttl
		for _, rr := range msg.Answer[1:] {
			ttl = min(ttl, rr.Header().Ttl)
		}
	default:
		var soa *dns.SOA
		for _, rr := range msg.Ns {
			if s, ok := rr.(*dns.SOA); ok {
				soa = s
				break
			}
		}
		if soa == nil {
			return 0
		}
		ttl = min(soa.Hdr.Ttl, soa.Minttl)
	}
	return min(time.Duration(ttl)*time.Second, maxAnswerTTL)
}
