package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// WarmQueue is the queue of the batches meant for agents located at
// location (see warm.VantageAgents): "warm-at-jp", "warm-at-nrt57-c1",
// "warm-at-asia"; the shared warm queue for none. River allows only lower
// case letters and digits between single dashes or underscores, so a
// location spelled otherwise (an edges-file code such as "tokyo.a") is
// folded to that and told apart from a location folding alike ("tokyo-a")
// by a hash of its spelling.
func WarmQueue(location string) string {
	if location == "" {
		return QueueWarm
	}
	var b strings.Builder
	dash := true // no leading dash
	for _, r := range strings.ToLower(location) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	// Case never tells two places apart (the catalog's codes ignore it),
	// so only a folding that changed more calls for the hash.
	if name != strings.ToLower(location) || len(name) > maxLocationName {
		sum := sha256.Sum256([]byte(location))
		name = strings.TrimSuffix(name[:min(len(name), maxLocationName)], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	return QueueWarm + "-at-" + name
}

// maxLocationName leaves room in River's 64 characters for "warm-at-"
// and a hash.
const maxLocationName = 40
