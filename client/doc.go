// Package client speaks the HTTP API of a prewarm server: the Pre-warming
// API of CloudFront Extensions (POST/GET /prewarm, GET /summary, POST/GET
// /instances and the CSV report), and prewarm's own job listing, job detail,
// stop and health endpoints.
//
// The answer types here are the ones the server encodes, so a program built
// on this package reads every field the server writes, under the same name.
//
// Every call takes a context first and is bounded by the client's timeout
// (WithTimeout). A non-2xx answer is an *Error carrying the HTTP status and
// the API's message; a job refused for its URLs lists them in ErrorURLs.
//
//	c, err := client.New("https://prewarm.example.com", os.Getenv("PREWARM_API_KEY"))
//	if err != nil {
//		return err
//	}
//	job, err := c.Submit(ctx, client.JobRequest{
//		URLs:     []string{"https://www.example.com/index.html"},
//		CFDomain: "d111111abcdef8.cloudfront.net",
//		POPs:     []string{"IAD89-P1", "FRA60-P1"},
//	})
//	if err != nil {
//		var apiErr *client.Error
//		if errors.As(err, &apiErr) && len(apiErr.ErrorURLs) > 0 {
//			fmt.Println("refused:", apiErr.ErrorURLs)
//		}
//		return err
//	}
//	p, err := c.Wait(ctx, job.RequestID, nil) // polls until the job ends
//	if err != nil {
//		return err
//	}
//	fmt.Println(p.Status, p.DownloadCount, "of", p.TotalCount, "tasks done,", p.FailedCount, "failed")
package client
