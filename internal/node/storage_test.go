package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"prewarm/internal/api"
	"prewarm/internal/store/pgtest"
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
	limit := func(pages string) {
		t.Helper()
		if _, err := n.Store.DB().Exec(t.Context(), "PRAGMA max_page_count = "+pages); err != nil {
			t.Fatal(err)
		}
	}
	fullDisk(t, n, port, func() {
		// No page beyond those the file has, and none of them free.
		var pages, free int64
		if err := n.Store.DB().QueryRow(t.Context(), "PRAGMA page_count").Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if err := n.Store.DB().QueryRow(t.Context(), "PRAGMA freelist_count").Scan(&free); err != nil {
			t.Fatal(err)
		}
		limit(fmt.Sprint(pages))
		t.Logf("the database holds %d pages, %d of them free", pages, free)
	}, func() { limit("1073741823") })
}

// The same on PostgreSQL, on a real full disk: the database lives in a
// tablespace on a tmpfs shrunk to what it holds, so the next row that
// needs a new page fails with disk_full (SQLSTATE 53100), as when the
// data volume fills. Needs root, to mount the tmpfs.
func TestAFullDiskOnPostgreSQL(t *testing.T) {
	cluster := pgtest.StartT(t)
	// Not under t.TempDir(): the server, running as postgres, must reach it.
	disk, err := os.MkdirTemp("", "prewarm-full-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(disk) })
	mount := func(opts string) {
		t.Helper()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", disk).CombinedOutput(); err != nil {
			if os.Getenv("CI") == "true" || strings.Contains(opts, "remount") {
				t.Fatalf("mount -o %s (needs root): %v: %s", opts, err, out)
			}
			t.Skipf("mounting a tmpfs needs root: %v: %s", err, out)
		}
	}
	mount("size=64m,mode=0700")
	t.Cleanup(func() { _ = exec.Command("umount", "-l", disk).Run() })
	owner, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)
	if err := os.Chown(disk, uid, gid); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(t.Context(), cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(t.Context())
	for _, stmt := range []string{"CREATE TABLESPACE small LOCATION '" + disk + "'", "CREATE DATABASE full_disk TABLESPACE small"} {
		if _, err := admin.Exec(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	cfg, port := edgeConfig(t, nil)
	cfg.Database = cluster.URL("full_disk")
	n, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fullDisk(t, n, port, func() {
		// tmpfs lets a mount shrink to what it holds, not below: the
		// database may grow between the look and the remount, so look
		// again and retry.
		for try := 0; ; try++ {
			var fs syscall.Statfs_t
			if err := syscall.Statfs(disk, &fs); err != nil {
				t.Fatal(err)
			}
			used := int64(fs.Blocks-fs.Bfree) * fs.Bsize / 1024
			out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%dk", used+16), disk).CombinedOutput()
			if err == nil {
				t.Logf("the database's tablespace holds %d kB; its disk has 16 kB more", used)
				return
			}
			if try == 5 {
				t.Fatalf("shrinking the tmpfs to %d kB: %v: %s", used+16, err, out)
			}
		}
	}, func() { mount("remount,size=64m") })
}

// fullDisk runs the scenario: fill() leaves the database no room, room()
// gives it back.
func fullDisk(t *testing.T, n *Node, port string, fill, room func()) {
	t.Helper()
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

	fill()
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

	room()
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
