// Package awstest holds what the stand-ins of AWS APIs share: the
// environment that keeps the AWS SDK off the machine's own configuration,
// so a test never signs with, or sends to, a real account.
package awstest

import "path/filepath"

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
