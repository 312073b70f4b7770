package cli

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Links are absolute only when serve knows its name: --public-url, or a
// --listen address of one host; on every address they are relative, since
// a request's Host header is the client's to write.
func TestPublicURL(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, c := range []struct {
		flag string
		addr net.Addr
		tls  bool
		want string
	}{
		{"https://prewarm.example.com", tcp("0.0.0.0:8080"), false, "https://prewarm.example.com"},
		{"", tcp("127.0.0.1:8080"), false, "http://127.0.0.1:8080"},
		{"", tcp("[::1]:8443"), true, "https://[::1]:8443"},
		{"", tcp("0.0.0.0:8080"), false, ""},
		{"", tcp("[::]:8080"), false, ""},
	} {
		if got := publicURL(c.flag, c.addr, c.tls); got != c.want {
			t.Errorf("publicURL(%q, %v, %v) = %q, want %q", c.flag, c.addr, c.tls, got, c.want)
		}
	}
}

// Every key an example of the help gives is one serve accepts.
func TestHelpExamplesGiveValidKeys(t *testing.T) {
	given := regexp.MustCompile(`(?:--api-key[ =]|PREWARM_API_KEY=)("[^"]*"|'[^']*'|\S+)`)
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, m := range given.FindAllStringSubmatch(c.Example, -1) {
			key := strings.Trim(m[1], `"'`)
			if strings.HasPrefix(key, "$") || key == "KEY" {
				continue // from the environment or a placeholder
			}
			n++
			f := &serveFlags{apiKeys: []string{key}}
			if err := f.checkKeys(); err != nil {
				t.Errorf("%s: example key %q: %v", c.CommandPath(), key, err)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRoot())
	if n == 0 {
		t.Fatal("no example key found")
	}
}

// --min-capacity and --scale-down-after tune --scaler: given without it,
// on the command line or in the environment, serve refuses to start.
func TestServeRefusesScalerFlagsWithoutScaler(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--min-capacity", "2"}, "", "--min-capacity is for --scaler"},
		{[]string{"--scale-down-after", "5m"}, "", "--scale-down-after is for --scaler"},
		{nil, "PREWARM_SCALE_DOWN_AFTER", "--scale-down-after is for --scaler"},
		{[]string{"--scaler", "k8s:prewarm/agent", "--min-capacity", "2", "--scale-down-after", "5m"}, "", ""},
		{nil, "", ""},
	} {
		if c.env != "" {
			t.Setenv(c.env, "5m")
		}
		f := &serveFlags{}
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(fs); err != nil {
			t.Fatal(err)
		}
		err := f.checkScalerFlags(fs)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %s: %v, want %q", c.args, c.env, err, c.want)
		}
		if c.env != "" {
			os.Unsetenv(c.env)
		}
	}
}
