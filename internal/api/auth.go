package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

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
