package queue

import (
	"regexp"
	"strings"
	"testing"
)

// riverQueueName is what River (v0.51.2, client.go validateQueueName)
// accepts as a queue's name, up to 64 characters.
var riverQueueName = regexp.MustCompile(`^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$`)

func TestWarmQueueNamesAreRiverQueues(t *testing.T) {
	names := map[string]string{}
	for _, loc := range []string{"", "JP", "NRT", "NRT57-C1", "asia", "north-america", "tokyo.a", "tokyo-a", "Tokyo-A", "--x--",
		"ÉDGE 1", strings.Repeat("very-long-edge-name-", 5)} {
		q := WarmQueue(loc)
		if !riverQueueName.MatchString(q) || len(q) > 64 {
			t.Errorf("WarmQueue(%q) = %q: River refuses that name", loc, q)
		}
		if other, ok := names[q]; ok && !strings.EqualFold(other, loc) {
			t.Errorf("%q and %q share the queue %q", other, loc, q)
		}
		names[q] = loc
	}
	if WarmQueue("") != QueueWarm || WarmQueue("JP") != "warm-at-jp" || WarmQueue("NRT57-C1") != "warm-at-nrt57-c1" {
		t.Errorf("queues %q %q %q", WarmQueue(""), WarmQueue("JP"), WarmQueue("NRT57-C1"))
	}
}
