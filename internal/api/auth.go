package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// auth checks x-api-key against the configured keys in constant time. Keys
// are compared as SHA-256 digests, so neither their contents nor their
// lengths leak through timing; they are never logged.
type auth struct {
	digests [][32]byte
}

func newAuth(keys []string) *auth {
	a := &auth{}
	for _, k := range keys {
		a.digests = append(a.digests, sha256.Sum256([]byte(k)))
	}
	return a
}

func (a *auth) open() bool { return len(a.digests) == 0 }

func (a *auth) check(r *http.Request) error {
	if a.open() {
		return nil
	}
	key := r.Header.Get("x-api-key")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); key == "" && ok {
		key = strings.TrimSpace(bearer)
	}
	if key == "" {
		return &httpError{http.StatusUnauthorized, "missing x-api-key header"}
	}
	got := sha256.Sum256([]byte(key))
	match := 0
	for _, d := range a.digests {
		match |= subtle.ConstantTimeCompare(got[:], d[:])
	}
	if match != 1 {
		return &httpError{http.StatusForbidden, "invalid API key"}
	}
	return nil
}

// reportToken signs a job id for its report link.
func reportToken(secret []byte, jobID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("report:" + jobID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func validReportToken(secret []byte, jobID, token string) bool {
	want := reportToken(secret, jobID)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}
