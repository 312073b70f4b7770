// Package cloudfronttest is test support: a fake CloudFront API server
// speaking the 2020-05-31 REST-XML of the real service for the three calls
// prewarm makes — ListDistributions, CreateInvalidation and
// GetInvalidation — so the real aws-sdk-go-v2 client (serializers, SigV4
// signing, paging, error decoding) is exercised end to end, in-process or
// from a subprocess pointed at it with --cloudfront-endpoint.
//
// A Fake is configured through its exported fields before Start, serves on
// an httptest server, and records what it was asked (Creates, Markers,
// Order, Refused, Polls). Env gives the environment that makes the SDK's
// standard credential chain sign with the test keys the Fake expects and
// ignore anything configured on the machine.
//
// It is not meant for production code.
package cloudfronttest
