package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// stateURLEnv names the environment variable that, like --state-url, keeps the run
// records and the cache in a PostgreSQL database.
const stateURLEnv = "AIFLOW_STATE_URL"

// stateURLUsage documents --state-url. Prefer the environment variable in scripts: a
// flag's value shows in the process list.
const stateURLUsage = "PostgreSQL `URL` (postgres://user@host/db) for run records and the cache, shared by many machines (default $AIFLOW_STATE_URL, else the flow's state: block; blobs stay in the state directory)"

// stateURLFlag registers --state-url on fs.
func stateURLFlag(fs *flag.FlagSet) *string {
	return fs.String("state-url", "", stateURLUsage)
}

// resolveStateURL picks the state database: --state-url, else $AIFLOW_STATE_URL, else
// the flow's state: block (f may be nil); "" means SQLite in the state directory. The
// URL holds a password: errors name where it came from, never its value.
func resolveStateURL(flagURL string, f *spec.Flow) (string, error) {
	if flagURL != "" {
		return checkStateURL("--state-url", flagURL)
	}
	if u := os.Getenv(stateURLEnv); u != "" {
		return checkStateURL(stateURLEnv, u)
	}
	if f == nil || f.State == nil || f.State.URL == nil {
		return "", nil
	}
	v := f.State.URL
	where := v.Pos.String() + ": state.url"
	t, refs, diags := engine.NewCompiler(&engine.Funcs{Dir: f.Dir, Roots: f.Reads}).Compile(v)
	if diags.HasErrors() {
		return "", fmt.Errorf("%s: %s", where, diags.Errors()[0].Summary)
	}
	if len(refs.Steps)+len(refs.Vars)+len(refs.Resources)+len(refs.Each)+len(refs.Other) > 0 {
		return "", fmt.Errorf(`%s: may read only env(), e.g. ${ env("%s") }: it is needed before anything else is evaluated`, where, stateURLEnv)
	}
	x, err := t.Eval(nil)
	if err != nil {
		return "", err // names the file, line, column and field already
	}
	s, ok := x.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%s: want a postgres:// URL, got %s", where, describeValue(x))
	}
	return checkStateURL(where, s)
}

func describeValue(x any) string {
	if s, ok := x.(string); ok && s == "" {
		return "an empty string"
	}
	return fmt.Sprintf("a %T", x)
}

func checkStateURL(where, u string) (string, error) {
	if !store.IsPostgresURL(u) {
		return "", fmt.Errorf("%s: unsupported state URL %s: want postgres://user@host/db (the default state needs no URL)", where, store.RedactURL(u))
	}
	return u, nil
}

// stateURLOf is resolveStateURL for a command that takes an optional flow file it
// does not compile: the flow's state: block is read when flow names one. A flow that
// does not parse has no say (the command reports on the state, not the flow).
func stateURLOf(flagURL, flow string) (string, error) {
	if flagURL != "" || os.Getenv(stateURLEnv) != "" || flow == "" {
		return resolveStateURL(flagURL, nil)
	}
	f, diags := spec.ParseFile(flow)
	if f == nil || diags.HasErrors() {
		return "", nil
	}
	return resolveStateURL("", f)
}
