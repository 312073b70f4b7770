package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"

	"prewarm/client"
)

// Submit a job, follow it to its end, and read what failed.
func Example() {
	srv := exampleServer() // stands for a running `prewarm serve`
	defer srv.Close()
	ctx := context.Background()

	c, err := client.New(srv.URL, "change-me-to-a-long-secret")
	if err != nil {
		log.Fatal(err)
	}
	job, err := c.Submit(ctx, client.JobRequest{
		URLs:     []string{"https://www.example.com/index.html", "https://www.example.com/app.js"},
		CFDomain: "d111111abcdef8.cloudfront.net",
		POPs:     []string{"IAD89-P1", "FRA60-P1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.Wait(ctx, job.RequestID, &client.WaitOptions{
		OnProgress: func(p *client.ProgressResponse) { fmt.Printf("%s %d%%\n", p.Status, p.PercentageComplete) },
	})
	if err != nil {
		log.Fatal(err)
	}
	if p.FailedCount > 0 {
		sum, err := c.Summary(ctx, job.RequestID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("failed:", sum.FailureURLs)
	}

	// A bad URL refuses the whole job, naming it.
	_, err = c.Submit(ctx, client.JobRequest{URLs: []string{"ftp://www.example.com/x"}, CFDomain: "d111111abcdef8.cloudfront.net"})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.ErrorURLs)
	}
	// Output:
	// IN_PROGRESS 50%
	// FINISHED 100%
	// failed: [https://www.example.com/app.js]
	// 400 [ftp://www.example.com/x]
}

// exampleServer answers as a server would for a job of 4 tasks that
// finishes on its second poll with one failed URL.
func exampleServer() *httptest.Server {
	var mu sync.Mutex
	polls := 0
	send := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /prewarm", func(w http.ResponseWriter, r *http.Request) {
		var req client.JobRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.URLs[0] == "ftp://www.example.com/x" {
			send(w, http.StatusBadRequest, client.SubmitResponse{Status: "Failed", ErrorMessage: "Invalid URLs", ErrorURLs: req.URLs})
			return
		}
		send(w, http.StatusOK, client.SubmitResponse{Status: "Success", RequestID: "e059b77b", ErrorURLs: []string{}})
	})
	mux.HandleFunc("GET /prewarm", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		polls++
		p := client.ProgressResponse{RequestID: "e059b77b", Status: client.StatusInProgress, TotalCount: 4, DownloadCount: 2, PercentageComplete: 50}
		if polls > 1 {
			p.Status, p.DownloadCount, p.PercentageComplete, p.SuccessCount, p.FailedCount = client.StatusFinished, 4, 100, 2, 2
		}
		send(w, http.StatusOK, p)
	})
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, r *http.Request) {
		send(w, http.StatusOK, client.SummaryResponse{RequestID: "e059b77b", FailureURLs: []string{"https://www.example.com/app.js"}})
	})
	return httptest.NewServer(mux)
}
