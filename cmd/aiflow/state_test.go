package main

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

func TestResolveStateURL(t *testing.T) {
	const head = "aiflow: 1\nvars:\n  db: x\nsteps:\n  a:\n    uses: transform\n    with: {value: 1}\n"
	const pw = "flow-s3cret"
	tests := []struct {
		name, flag, env, state string
		want                   string // the URL, or with err set a part of the error
		err                    bool
	}{
		{name: "nothing: SQLite", want: ""},
		{name: "flag", flag: "postgres://a@h/db", want: "postgres://a@h/db"},
		{name: "env", env: "postgresql://a@h/db", want: "postgresql://a@h/db"},
		{name: "flag over env and flow", flag: "postgres://flag@h/db", env: "postgres://env@h/db", state: `state: {url: '${ env("PG5_TEST_URL") }'}`, want: "postgres://flag@h/db"},
		{name: "env over flow", env: "postgres://env@h/db", state: `state: {backend: postgres, url: '${ env("PG5_TEST_URL") }'}`, want: "postgres://env@h/db"},
		{name: "flow from env()", state: `state: {backend: postgres, url: '${ env("PG5_TEST_URL") }'}`, want: "postgres://u:" + pw + "@h/db"},
		{name: "flow sqlite", state: `state: {backend: sqlite}`, want: ""},
		{name: "flow reads a var", state: `state: {url: '${ vars.db }'}`, err: true, want: "s.yaml:8:14: state.url: may read only env()"},
		{name: "flow env unset", state: `state: {url: '${ env("PG5_TEST_UNSET") }'}`, err: true, want: "s.yaml:8:14: state.url: ${ env(\"PG5_TEST_UNSET\") }: environment variable PG5_TEST_UNSET is not set"},
		{name: "flag not postgres", flag: "mysql://u:" + pw + "@h/db", err: true, want: "--state-url: unsupported state URL mysql://u:xxxxx@h/db"},
		{name: "env not postgres", env: "file:state.db", err: true, want: "AIFLOW_STATE_URL: unsupported state URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(stateURLEnv, tt.env)
			t.Setenv("PG5_TEST_URL", "postgres://u:"+pw+"@h/db")
			var f *spec.Flow
			if tt.state != "" {
				var diags spec.Diagnostics
				f, diags = spec.Parse("s.yaml", []byte(head+tt.state+"\n"))
				if diags.HasErrors() {
					t.Fatal(diags)
				}
			}
			got, err := resolveStateURL(tt.flag, f)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want)
				}
				if strings.Contains(err.Error(), pw) {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("resolveStateURL = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
