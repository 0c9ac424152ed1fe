package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestJSONFlowKeys checks that every -o json document naming a flow uses one meaning per
// key: "flow" is the flow file's absolute path and "name" is the flow's name: (issue 12,
// bug 11: plan used "flow" for the path and apply for the name).
func TestJSONFlowKeys(t *testing.T) {
	dir, flow := writeInfraFlow(t)
	t.Chdir(dir)
	abs, err := filepath.Abs(flow)
	if err != nil {
		t.Fatal(err)
	}
	type named struct {
		Flow *string `json:"flow"`
		Name *string `json:"name"`
	}
	tests := []struct {
		name string
		args []string
		objs []string // keys of the document holding an object that names the flow
	}{
		{"plan", []string{"plan", "-o", "json", "flow.yaml"}, []string{"plan", "resources"}},
		{"apply", []string{"apply", "-auto-approve", "-o", "json", "flow.yaml"}, []string{"plan"}},
		{"run", []string{"run", "-o", "json", "flow.yaml"}, []string{"run"}},
		{"destroy", []string{"destroy", "-auto-approve", "-o", "json", "flow.yaml"}, []string{"plan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "", false, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			for _, key := range tt.objs {
				var n named
				if err := json.Unmarshal(doc[key], &n); err != nil {
					t.Fatalf("%s: %v\n%s", key, err, stdout)
				}
				if n.Flow == nil || *n.Flow != abs {
					t.Errorf("%s.flow = %v, want the file path %q", key, deref(n.Flow), abs)
				}
				if n.Name == nil || *n.Name != "infra-cli" {
					t.Errorf("%s.name = %v, want the flow name %q", key, deref(n.Name), "infra-cli")
				}
			}
		})
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
