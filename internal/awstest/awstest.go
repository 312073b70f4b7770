// Package awstest holds what the stand-ins of AWS APIs share: the
// environment that keeps the AWS SDK off the machine's own configuration,
// so a test never signs with, or sends to, a real account; the test server
// that checks each request is signed with the test key; and the XML
// answers.
package awstest

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// Env is the environment that points the AWS SDK's standard credential
// chain at key and secret and away from anything on the machine: shared
// config and credentials files under dir (which need not exist), no
// profile, session token, web identity or container credentials, IMDS
// disabled, and no endpoint override, neither the general one nor that of
// each of services (the suffix of AWS_ENDPOINT_URL_<SERVICE>, such as
// CLOUDFRONT). Empty key and secret leave no credentials to resolve.
//
// Apply it with t.Setenv for each entry, or append it as KEY=VALUE to a
// subprocess's environment.
func Env(dir, key, secret string, services ...string) map[string]string {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":                      key,
		"AWS_SECRET_ACCESS_KEY":                  secret,
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	}
	for _, s := range services {
		env["AWS_ENDPOINT_URL_"+s] = ""
	}
	return env
}

// Serve serves h on an httptest server, closed at t's cleanup. A request
// not signed (SigV4) with accessKey for service in region is reported with
// t.Errorf: the SDK must sign with the test credentials of Env, from its
// standard chain.
func Serve(t testing.TB, h http.Handler, accessKey, region, service string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+accessKey+"/") ||
			!strings.Contains(auth, "/"+region+"/"+service+"/aws4_request") {
			t.Errorf("%s %s: Authorization %q is not a SigV4 signature by the test key for %s/%s", r.Method, r.URL, auth, service, region)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// WriteXML answers status with v as an XML document.
func WriteXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}
