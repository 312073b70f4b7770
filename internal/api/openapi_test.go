package api

import (
	"context"
	"net/http"
	"prewarm/internal/warm"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"prewarm/client"
)

type openAPIDoc struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]any `yaml:"properties"`
			AllOf      []struct {
				Ref        string         `yaml:"$ref"`
				Properties map[string]any `yaml:"properties"`
			} `yaml:"allOf"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

// Every route of the table is in the OpenAPI document, with its method.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	// Every optional route on, and the table registered as a server would
	// (a pattern that conflicts with another panics here).
	s := New(Config{Metrics: http.NotFoundHandler(), RotateReportSecret: func(context.Context) error { return nil },
		Schedules: &warm.Scheduler{}})
	for _, rt := range s.table() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("route %s is missing from openapi.yaml", rt.pattern)
			continue
		}
		if _, ok := ops[strings.ToLower(method)]; !ok {
			t.Errorf("route %s: openapi.yaml has no %s operation", rt.pattern, method)
		}
	}
}

// Every field the API answers with is described.
func TestOpenAPIDescribesEveryField(t *testing.T) {
	doc := loadOpenAPI(t)
	props := func(name string) map[string]bool {
		out := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			sc := doc.Components.Schemas[n]
			for k := range sc.Properties {
				out[k] = true
			}
			for _, a := range sc.AllOf {
				if a.Ref != "" {
					walk(strings.TrimPrefix(a.Ref, "#/components/schemas/"))
				}
				for k := range a.Properties {
					out[k] = true
				}
			}
		}
		walk(name)
		return out
	}
	for _, c := range []struct {
		schema string
		v      any
	}{
		{"SubmitResponse", SubmitResponse{}},
		{"Progress", ProgressResponse{}},
		{"JobSummary", JobSummary{}},
		{"Job", JobResponse{}},
		{"POP", POPJSON{}},
		{"Summary", SummaryResponse{}},
		{"InstancesResponse", InstancesResponse{}},
		{"InstancesStatus", InstancesStatus{}},
		{"Failure", failure{}},
		{"DryRun", DryRunResponse{}},
		{"DryRunPOP", DryRunPOP{}},
		// What the client sends, and the error body it reads.
		{"JobRequest", client.JobRequest{}},
		{"InstancesRequest", client.InstancesRequest{}},
		{"Failure", client.Failure{}},
	} {
		have := props(c.schema)
		for _, f := range jsonFields(reflect.TypeOf(c.v)) {
			if !have[f] {
				t.Errorf("schema %s lacks field %q of %T", c.schema, f, c.v)
			}
		}
	}
}

// jsonFields lists a struct's JSON field names, embedded structs included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
