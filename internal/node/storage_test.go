package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"prewarm/internal/api"
)

// A full disk: POST /prewarm answers 507 naming it and /healthz turns
// unready, while reads still answer; once there is room a job is accepted
// and warmed, and /healthz is ready again. SQLite's page limit stands in
// for the disk: a write past it fails exactly as on a full disk
// ("database or disk is full").
func TestAFullDisk(t *testing.T) {
	cfg, port := edgeConfig(t, nil)
	n, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h := api.New(api.Config{Service: n.Service, Log: slog.New(slog.DiscardHandler)})
	call := func(method, path, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	var urls []string
	for i := range 1000 {
		urls = append(urls, fmt.Sprintf("http://site.test:%s/full/%d/%s", port, i, strings.Repeat("x", 200)))
	}
	body, _ := json.Marshal(map[string]any{"url_list": urls, "pops": []string{"local"}})
	limit := func(pages string) {
		t.Helper()
		if _, err := n.Store.DB().Exec(t.Context(), "PRAGMA max_page_count = "+pages); err != nil {
			t.Fatal(err)
		}
	}
	// The disk is full: no page beyond those the file has, and none of them
	// free.
	var pages, free int64
	if err := n.Store.DB().QueryRow(t.Context(), "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := n.Store.DB().QueryRow(t.Context(), "PRAGMA freelist_count").Scan(&free); err != nil {
		t.Fatal(err)
	}
	limit(fmt.Sprint(pages))
	t.Logf("the database holds %d pages, %d of them free", pages, free)

	code, answer := call("POST", "/prewarm", string(body))
	if code != http.StatusInsufficientStorage || !strings.Contains(answer, "the database's disk is full") {
		t.Fatalf("POST /prewarm on a full disk: %d %s", code, answer)
	}
	if code, answer := call("GET", "/healthz", ""); code != http.StatusServiceUnavailable || !strings.Contains(answer, "full") {
		t.Fatalf("/healthz on a full disk: %d %s", code, answer)
	}
	if code, answer := call("GET", "/jobs", ""); code != http.StatusOK {
		t.Fatalf("GET /jobs on a full disk: %d %s", code, answer)
	}

	limit("1073741823") // room again
	code, answer = call("POST", "/prewarm", string(body))
	if code != http.StatusOK {
		t.Fatalf("POST /prewarm with room: %d %s", code, answer)
	}
	var sub struct {
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(answer), &sub); err != nil {
		t.Fatal(err)
	}
	if p := waitEnded(t.Context(), t, n, sub.RequestID); p.Done != 1000 || p.OK != 1000 {
		t.Fatalf("the job after the disk had room: %+v", p.Counts)
	}
	if code, answer := call("GET", "/healthz", ""); code != http.StatusOK {
		t.Fatalf("/healthz with room: %d %s", code, answer)
	}
}
