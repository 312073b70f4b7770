package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/launch"
)

// Bad input always gets a 4xx with a message naming the problem, and never
// a crash: after the whole table the server still answers.
func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := startServe(t, "", "--max-urls", "5", "--dns-server", "127.0.0.1:1")
	ok := map[string]any{"url_list": []string{"https://www.example.com/a"}, "cf_domain": "d1.cloudfront.net", "pops": []string{"SIN2-P1"}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	six := []string{"https://a.test/1", "https://a.test/2", "https://a.test/3", "https://a.test/4", "https://a.test/5", "https://a.test/6"}
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		want   string
	}{
		{"malformed JSON", "POST", "/prewarm", `{"url_list": [`, 400, "malformed JSON"},
		{"empty body", "POST", "/prewarm", ``, 400, "body"},
		{"array body", "POST", "/prewarm", `[1,2]`, 400, "JSON object"},
		{"url_list not a list", "POST", "/prewarm", with("url_list", "https://a.test/"), 400, "url_list: expected an array"},
		{"url_list of numbers", "POST", "/prewarm", with("url_list", []any{1}), 400, "url_list[0]"},
		{"url_list empty", "POST", "/prewarm", with("url_list", []string{}), 400, "url_list"},
		{"url_list missing", "POST", "/prewarm", with("url_list", nil), 400, "url_list"},
		{"cf_domain missing", "POST", "/prewarm", with("cf_domain", nil), 400, "cf_domain"},
		{"cf_domain number", "POST", "/prewarm", with("cf_domain", 5), 400, "cf_domain: expected a string"},
		{"target_type unknown", "POST", "/prewarm", with("target_type", "city"), 400, "target_type"},
		{"malformed pop", "POST", "/prewarm", with("pops", []string{"SIN2"}), 400, `pops: "SIN2"`},
		{"unknown region", "POST", "/prewarm", map[string]any{"url_list": ok["url_list"], "cf_domain": "d1.cloudfront.net", "target_type": "region", "regions": []string{"mars"}}, 400, `regions: unknown region "mars"`},
		{"unknown country", "POST", "/prewarm", map[string]any{"url_list": ok["url_list"], "cf_domain": "d1.cloudfront.net", "target_type": "country", "countries": []string{"atlantis"}}, 400, "countries"},
		{"timeout zero", "POST", "/prewarm", with("timeout", 0), 400, "timeout"},
		{"timeout negative", "POST", "/prewarm", with("timeout", -1), 400, "timeout"},
		{"timeout not a number", "POST", "/prewarm", with("timeout", "soon"), 400, "timeout"},
		{"header without colon", "POST", "/prewarm", with("header", []string{"User-Agent x"}), 400, "header[0]"},
		{"instance_count too big", "POST", "/prewarm", with("instance_count", 301), 400, "instance_count"},
		{"instance_count fraction", "POST", "/prewarm", with("instance_count", 1.5), 400, "instance_count"},
		{"need_invalidate wrong type", "POST", "/prewarm", with("need_invalidate", 3), 400, "need_invalidate"},
		{"too many URLs", "POST", "/prewarm", with("url_list", six), 413, "limit is 5"},
		{"body over 32 MiB", "POST", "/prewarm", bytes.Repeat([]byte(" "), 33<<20), 413, "larger than"},
		{"progress without req_id", "GET", "/prewarm", nil, 400, "req_id"},
		{"progress of unknown job", "GET", "/prewarm?req_id=nope", nil, 404, "not found"},
		{"summary of unknown job", "GET", "/summary?req_id=nope", nil, 404, "not found"},
		{"summary without req_id", "GET", "/summary", nil, 400, "req_id"},
		{"capacity missing", "POST", "/instances", `{}`, 400, "DesiredCapacity"},
		{"capacity too big", "POST", "/instances", `{"DesiredCapacity": 301}`, 400, "DesiredCapacity"},
		{"capacity negative", "POST", "/instances", `{"DesiredCapacity": -1}`, 400, "DesiredCapacity"},
		{"capacity not a number", "POST", "/instances", `{"DesiredCapacity": "many"}`, 400, "DesiredCapacity"},
		{"force stop without req_id", "POST", "/instances", `{"DesiredCapacity": 1, "force_stop": true}`, 400, "req_id"},
		{"force stop of unknown job", "POST", "/instances", `{"DesiredCapacity": 1, "force_stop": true, "req_id": "nope"}`, 404, "not found"},
		{"force_stop wrong type", "POST", "/instances", `{"DesiredCapacity": 1, "force_stop": 7}`, 400, "force_stop"},
		{"wrong method", "DELETE", "/prewarm", nil, 405, "DELETE"},
		{"unknown route", "GET", "/nope", nil, 404, "no such endpoint"},
		{"job list bad status", "GET", "/jobs?status=DONE", nil, 400, "status"},
		// What a security review found.
		{"url_list null entry", "POST", "/prewarm", with("url_list", []any{nil}), 400, "url_list[0]: expected a string, got null"},
		{"unknown field", "POST", "/prewarm", with("time_out", 5), 400, `time_out: is not a field of this request; did you mean "timeout"?`},
		{"unknown field far from any", "POST", "/prewarm", with("colour", "red"), 400, "colour: is not a field of this request"},
		{"unknown instances field", "POST", "/instances", `{"DesiredCapacity": 1, "forcestop": true}`, 400, `did you mean "force_stop"?`},
		{"job list limit with letters", "GET", "/jobs?limit=5abc", nil, 400, "limit"},
		{"job list limit zero", "GET", "/jobs?limit=0", nil, 400, "limit"},
		{"job list limit too big", "GET", "/jobs?limit=1001", nil, 400, "limit"},
		{"job list limit negative", "GET", "/jobs?limit=-3", nil, 400, "limit"},
		{"encoding formula", "POST", "/prewarm", with("encodings", []string{"-1+1"}), 400, "encodings[0]"},
		{"encoding cell reference", "POST", "/prewarm", with("encodings", []string{"+A1"}), 400, "encodings[0]"},
		{"encoding equals", "POST", "/prewarm", with("encodings", []string{"=cmd"}), 400, "encodings[0]"},
		{"encoding at sign", "POST", "/prewarm", with("encodings", []string{"@sum"}), 400, "encodings[0]"},
		{"encoding with q", "POST", "/prewarm", with("encodings", []string{"gzip;q=1"}), 400, "encodings[0]"},
		{"too many encodings", "POST", "/prewarm", with("encodings", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}), 400, "limit is 8"},
		{"encodings not a list", "POST", "/prewarm", with("encodings", 3), 400, "encodings"},
		{"header control character", "POST", "/prewarm", with("header", []string{"X-A: a\x01b"}), 400, "control character"},
		{"header escape character", "POST", "/prewarm", with("header", []string{"X-A: \x1b[31m"}), 400, "control character"},
		{"header delete character", "POST", "/prewarm", with("header", []string{"X-A: a\x7f"}), 400, "control character"},
		{"header line break", "POST", "/prewarm", with("header", []string{"X-A: a\r\nX-B: b"}), 400, "control character"},
		{"header Content-Length", "POST", "/prewarm", with("header", []string{"Content-Length: 5"}), 400, "Content-Length cannot be set"},
		{"header Transfer-Encoding", "POST", "/prewarm", with("header", []string{"transfer-encoding: chunked"}), 400, "cannot be set"},
		{"header Connection", "POST", "/prewarm", with("header", []string{"Connection: close"}), 400, "cannot be set"},
		{"header Host", "POST", "/prewarm", with("header", []string{"Host: evil.test"}), 400, "Host cannot be set"},
		{"header bad name", "POST", "/prewarm", with("header", []string{"X A: b"}), 400, "not a valid header name"},
		{"header empty name", "POST", "/prewarm", with("header", []string{": b"}), 400, "not a valid header name"},
		{"header not a list", "POST", "/prewarm", with("header", "X-A: b"), 400, "header"},
		{"too many headers", "POST", "/prewarm", with("header", manyHeaders(65)), 400, "limit is 64"},
		{"credentials in a URL", "POST", "/prewarm", with("url_list", []string{"https://user:secret@a.test/x"}), 400, "url_list[0]: holds credentials"},
		{"user name in a URL", "POST", "/prewarm", with("url_list", []string{"https://a.test/", "https://user@a.test/x"}), 400, "url_list[1]"},
		{"too many URLs with duplicates", "POST", "/prewarm", with("url_list", append(six[:5:5], six[0])), 413, "6 URLs; the limit is 5"},
		{"body not JSON", "POST", "/prewarm", `url_list=https://a.test/`, 400, "malformed JSON"},
		{"body null", "POST", "/prewarm", `null`, 400, "got null"},
		{"body string", "POST", "/prewarm", `"https://a.test/"`, 400, "JSON object"},
		{"body number", "POST", "/prewarm", `42`, 400, "JSON object"},
		{"body two objects", "POST", "/prewarm", `{"url_list": ["https://a.test/"]} {}`, 400, "after the JSON object"},
		{"body truncated string", "POST", "/prewarm", `{"url_list": ["https://a.te`, 400, "JSON"},
		{"progress with an empty req_id", "GET", "/prewarm?req_id=", nil, 400, "req_id"},
		{"cf_domain list", "POST", "/prewarm", with("cf_domain", []string{"d1.cloudfront.net"}), 400, "cf_domain: expected a string"},
		{"pops not a list", "POST", "/prewarm", with("pops", "SIN2-P1"), 400, "pops"},
		{"pops of numbers", "POST", "/prewarm", with("pops", []any{7}), 400, "pops[0]"},
		{"summary with a blank req_id", "GET", "/summary?req_id=%20", nil, 400, "req_id"},
		{"timeout too long", "POST", "/prewarm", with("timeout", 100000), 400, "timeout"},
		{"timeout a list", "POST", "/prewarm", with("timeout", []int{5}), 400, "timeout: expected a number"},
		{"timeout as text not a number", "POST", "/prewarm", with("timeout", "5 min"), 400, "timeout"},
		{"instance_count negative", "POST", "/prewarm", with("instance_count", -1), 400, "instance_count"},
		{"instance_count text", "POST", "/prewarm", with("instance_count", "many"), 400, "instance_count"},
		{"verify wrong type", "POST", "/prewarm", with("verify", "maybe"), 400, "verify"},
		{"tier_first wrong type", "POST", "/prewarm", with("tier_first", 2), 400, "tier_first"},
		{"dry_run wrong type", "POST", "/prewarm", with("dry_run", []bool{true}), 400, "dry_run"},
		{"expand unknown kind", "POST", "/prewarm", with("expand", "rss"), 400, "expand[0]"},
		{"expand number", "POST", "/prewarm", with("expand", 1), 400, "expand"},
		{"priority unknown", "POST", "/prewarm", with("priority", "urgent"), 400, "priority"},
		{"max_concurrency zero", "POST", "/prewarm", with("max_concurrency", 0), 400, "max_concurrency"},
		{"max_concurrency fraction", "POST", "/prewarm", with("max_concurrency", 2.5), 400, "max_concurrency"},
		{"max_rps negative", "POST", "/prewarm", with("max_rps", -1), 400, "max_rps"},
		{"distribution_id lower case", "POST", "/prewarm", with("distribution_id", "e2abc"), 400, "distribution_id"},
		{"name too long", "POST", "/prewarm", with("name", strings.Repeat("n", 500)), 400, "name"},
		{"job list status in lower case", "GET", "/jobs?status=done", nil, 400, "status"},
		{"stop of unknown job", "POST", "/jobs/nope/stop", nil, 404, "not found"},
		{"job of unknown id", "GET", "/jobs/nope", nil, 404, "not found"},
		{"report of unknown job", "GET", "/reports/nope.csv", nil, 404, "not found"},
		{"report of another kind", "GET", "/reports/nope.txt", nil, 404, "no such endpoint"},
		{"wrong method on instances", "PUT", "/instances", nil, 405, "PUT"},
		{"wrong method on summary", "POST", "/summary", nil, 405, "POST"},
		{"changed_since without sitemaps", "POST", "/prewarm", with("changed_since", "2026-11-01"), 400, `changed_since: applies to sitemaps`},
		{"changed_since not a time", "POST", "/prewarm", with("changed_since", "last week"), 400, "changed_since"},
		{"notify_url without a webhook secret", "POST", "/prewarm", with("notify_url", "https://hooks.example.com/x"), 400, "--webhook-secret"},
	}
	// These go over the wire as they are: the bodies are what no client
	// would send, and the answer's own JSON is under test.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := srv.rawJSON(c.method, c.path, c.body)
			msg, _ := out["message"].(string)
			if code != c.status || out["status"] != "failure" || !strings.Contains(msg, c.want) || out["timestamp"] == "" {
				t.Fatalf("%s %s: %d %v, want %d with %q", c.method, c.path, code, out, c.status, c.want)
			}
		})
	}
	t.Run("invalid URLs in the original's shape", func(t *testing.T) {
		code, out := srv.rawJSON("POST", "/prewarm", with("url_list", []string{"https://ok.test/", "ftp://x/", "nope"}))
		if code != 400 || out["status"] != "Failed" || out["error_message"] != "Invalid URLs" || len(out["error_urls"].([]any)) != 2 {
			t.Fatalf("%d %v", code, out)
		}
	})
	t.Run("still healthy", func(t *testing.T) {
		if code, out := srv.rawJSON("POST", "/prewarm", ok); code != 200 {
			t.Fatalf("%d %v", code, out)
		}
	})
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := startServe(t, "", "--dns-server", "127.0.0.1:1")
	status := func(key string) int {
		c, err := client.New(srv.URL, key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Instances(t.Context())
		if err == nil {
			return 200
		}
		return statusOf(err)
	}
	if status("") != 401 || status("wrong-key-000") != 403 || status(apiKey) != 200 {
		t.Fatal("x-api-key is not enforced")
	}
	if c, err := client.New(srv.URL, ""); err != nil || c.Health(t.Context()) != nil {
		t.Fatalf("healthz needs no key: %v", err)
	}
	if strings.Contains(srv.Log(), apiKey) {
		t.Fatal("the API key appears in the log")
	}
	// No key and no --no-auth: serve refuses to start.
	p, err := launch.Serve(t.Context(), launch.Options{Binary: binary, Args: []string{"--data-dir", t.TempDir()}, Ready: 10 * time.Second})
	if err == nil {
		p.Kill()
		t.Fatal("serve started without an API key")
	}
	if !strings.Contains(err.Error(), "exited before serving") || !strings.Contains(err.Error(), "--api-key") {
		t.Fatalf("serve without a key: %v", err)
	}
}

// manyHeaders is n distinct, valid header entries.
func manyHeaders(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("X-H%d: v", i)
	}
	return out
}
