package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The GitHub Action at the repository's root asks only for inputs it
// declares and passes submit only flags submit has.
func TestActionDefinition(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Required bool   `yaml:"required"`
			Default  string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" || len(action.Runs.Steps) == 0 {
		t.Fatalf("runs: %+v", action.Runs)
	}
	for _, m := range regexp.MustCompile(`inputs\.([a-z-]+)`).FindAllStringSubmatch(string(data), -1) {
		if _, ok := action.Inputs[m[1]]; !ok {
			t.Errorf("inputs.%s is used but not declared", m[1])
		}
	}
	var submit = NewRoot()
	cmd, _, err := submit.Find([]string{"submit"})
	if err != nil {
		t.Fatal(err)
	}
	script := action.Runs.Steps[len(action.Runs.Steps)-1].Run
	flags := regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(script, -1)
	if len(flags) < 5 {
		t.Fatalf("the run step passes %d flags:\n%s", len(flags), script)
	}
	for _, m := range flags {
		if cmd.Flags().Lookup(m[1]) == nil {
			t.Errorf("the action passes --%s, which prewarm submit does not have", m[1])
		}
	}
	if !strings.Contains(script, "--wait --min-verified") {
		t.Errorf("the action does not gate on --min-verified:\n%s", script)
	}
}
