package spec_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

func TestStateBlock(t *testing.T) {
	const head = "aiflow: 1\nsteps:\n  a:\n    uses: transform\n    with: {value: 1}\n"
	tests := []struct {
		name, state string
		backend     string // want, when valid
		url         bool   // want a URL value
		err         string // want an error containing this, at the file:line:col given by at
		at          string
	}{
		{"none", "", "", false, "", ""},
		{"sqlite", "state: {backend: sqlite}\n", "sqlite", false, "", ""},
		{"postgres from env", "state:\n  backend: postgres\n  url: ${ env(\"AIFLOW_STATE_URL\") }\n", "postgres", true, "", ""},
		{"url alone means postgres", "state: {url: '${ env(\"DB\") }'}\n", "postgres", true, "", ""},
		{"literal url without a password", "state: {backend: postgres, url: 'postgres://aiflow@db/aiflow'}\n", "postgres", true, "", ""},
		{"literal password", "state: {backend: postgres, url: 'postgres://aiflow:hunter2@db/aiflow'}\n", "", false, "the URL holds a password", "s.yaml:6:33"},
		{"password parameter", "state: {backend: postgres, url: 'postgres://db/aiflow?password=hunter2'}\n", "", false, "the URL holds a password", "s.yaml:6:33"},
		{"postgres without url", "state: {backend: postgres}\n", "", false, "missing url for the postgres state backend", "s.yaml:6:8"},
		{"unknown backend", "state: {backend: postgress}\n", "", false, `unknown state backend "postgress"`, "s.yaml:6:18"},
		{"url with sqlite", "state: {backend: sqlite, url: '${ env(\"X\") }'}\n", "", false, "url does not apply to the sqlite state backend", "s.yaml:6:31"},
		{"unknown key", "state: {backend: sqlite, dir: x}\n", "", false, `unknown key "dir"`, "s.yaml:6:26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := spec.Parse("s.yaml", []byte(head+tt.state))
			if tt.err != "" {
				for _, d := range diags {
					if strings.Contains(d.String(), tt.err) {
						if !strings.HasPrefix(d.String(), tt.at+":") {
							t.Errorf("diagnostic %q, want it at %s", d.String(), tt.at)
						}
						if strings.Contains(d.String(), "hunter2") {
							t.Errorf("diagnostic shows the password: %q", d.String())
						}
						return
					}
				}
				t.Fatalf("want an error containing %q, got %v", tt.err, diags)
			}
			if diags.HasErrors() || f == nil {
				t.Fatalf("want no errors, got %v", diags)
			}
			if tt.backend == "" {
				if f.State != nil {
					t.Fatalf("State = %+v, want nil", f.State)
				}
				return
			}
			if f.State == nil || f.State.Backend != tt.backend || (f.State.URL != nil) != tt.url {
				t.Fatalf("State = %+v, want backend %s, url %v", f.State, tt.backend, tt.url)
			}
		})
	}
}
