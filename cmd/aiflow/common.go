package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// jsonFormatVersion is the version of every -o json document.
const jsonFormatVersion = "1"

// Error kinds reported in -o json output.
const (
	errUsage       = "usage"
	errInvalidFlow = "invalid_flow"
	errRunFailed   = "run_failed"
	errState       = "state"
	errInput       = "invalid_input"
)

// view renders results and diagnostics either for people or as JSON.
type view struct {
	json   bool
	stdout io.Writer
	stderr io.Writer
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("aiflow "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func outputFlag(fs *flag.FlagSet) *string {
	o := fs.String("o", "human", "output format: human or json")
	return o
}

func parseView(o string, stdout, stderr io.Writer) (view, error) {
	switch o {
	case "human", "table", "text":
		return view{stdout: stdout, stderr: stderr}, nil
	case "json":
		return view{json: true, stdout: stdout, stderr: stderr}, nil
	}
	return view{stdout: stdout, stderr: stderr}, fmt.Errorf("-o: unknown format %q (use human or json)", o)
}

// parseArgs parses flags, allowing the flow path before or after them.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// errFlags marks a flag error the flag package has already reported, with usage.
var errFlags = errors.New("invalid flags")

// parseCommand is the opening every command that answers in a view shares: it parses
// args with fs (the flow path before or after the flags) and then o, the -o value
// outputFlag registered on fs. On an error, return v.failArgs(err).
func parseCommand(fs *flag.FlagSet, o *string, args []string, stdout, stderr io.Writer) ([]string, view, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, view{stdout: stdout, stderr: stderr}, fmt.Errorf("%w: %w", errFlags, err)
	}
	v, err := parseView(*o, stdout, stderr)
	return pos, v, err
}

// failArgs ends a command whose arguments parseCommand rejected: flag errors were
// already reported by the flag package, a bad -o is a usage error.
func (v view) failArgs(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK // -h printed the usage as asked
	}
	if errors.Is(err, errFlags) {
		return exitError
	}
	return v.fail(errUsage, err, nil)
}

// fail reports an error of kind and returns exit code 1.
func (v view) fail(kind string, err error, diags spec.Diagnostics) int {
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "error": map[string]any{"kind": kind, "message": err.Error()}, "diagnostics": diagList(diags)})
		return exitError
	}
	if len(diags) > 0 {
		v.diags(diags)
	} else {
		fmt.Fprintf(v.stderr, "Error: %v\n", err)
	}
	return exitError
}

func (v view) diags(diags spec.Diagnostics) {
	for _, d := range diags {
		fmt.Fprintln(v.stderr, d.String())
	}
	if n := len(diags.Errors()); n > 0 {
		fmt.Fprintf(v.stderr, "%d error%s\n", n, plural(n))
	}
}

func diagList(diags spec.Diagnostics) []spec.Diagnostic {
	if diags == nil {
		return []spec.Diagnostic{}
	}
	return diags
}

func (v view) writeJSON(x any) {
	enc := json.NewEncoder(v.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(x)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// allowReadUsage documents --allow-read: flows read only inside their own folder unless
// the user widens it, so a flow (or a model calling a sub-flow tool) cannot read
// arbitrary files such as ~/.ssh or /etc.
const allowReadUsage = "let prompt files, file(), glob() and sub-flows read files in `DIR` too (repeatable; by default only the flow's folder)"

// allowReadFlag registers --allow-read on fs.
func allowReadFlag(fs *flag.FlagSet) *varFlags {
	var dirs varFlags
	fs.Var(&dirs, "allow-read", allowReadUsage)
	return &dirs
}

// loadFlow parses and compiles a flow file whose reads are confined to its folder and
// the --allow-read directories.
func loadFlow(path string, allowRead []string) (*engine.Flow, spec.Diagnostics) {
	roots, err := spec.NewReadRoots(filepath.Dir(path), allowRead...)
	if err != nil {
		return nil, spec.Diagnostics{{Severity: spec.Error, Pos: spec.Pos{File: path}, Summary: "invalid --allow-read", Detail: err.Error()}}
	}
	f, diags := spec.ParseFileIn(path, roots)
	if diags.HasErrors() || f == nil {
		return nil, diags
	}
	fl, more := engine.Compile(f, engine.Options{})
	return fl, append(diags, more...).Sort()
}

func flowArg(pos []string) (string, error) {
	switch len(pos) {
	case 0:
		return "", errors.New("missing flow file: aiflow <command> flow.yaml")
	case 1:
		return pos[0], nil
	}
	return "", fmt.Errorf("expected one flow file, got %d arguments: %s", len(pos), strings.Join(pos, " "))
}

// stateDir is .aiflow beside the flow unless --state-dir says otherwise.
func stateDir(flag, flowPath string) string {
	dir := flag
	if dir == "" {
		dir = filepath.Join(filepath.Dir(flowPath), ".aiflow")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs // backends build file: URIs from it
	}
	return dir
}

// openStore opens the state directory dir, with its run records and cache in the
// PostgreSQL database stateURL when that is set (see resolveStateURL).
func openStore(dir, stateURL string) (*store.Store, error) {
	st, err := store.OpenWith(dir, store.Options{URL: stateURL})
	if err != nil {
		if stateURL != "" {
			return nil, fmt.Errorf("opening the shared state (blobs in %s): %w", dir, err) // err names the URL, redacted
		}
		return nil, fmt.Errorf("opening state in %s: %w", dir, err)
	}
	return st, nil
}

// flowState is a compiled flow with its var values and its open state store: what run,
// apply and destroy start from.
type flowState struct {
	fl    *engine.Flow
	vars  map[string]any
	st    *store.Store
	dir   string
	diags spec.Diagnostics // the flow's warnings
}

// openFlowState loads and compiles the flow (printing its warnings in human output, less
// unset-env ones), reads the --var/--vars-file values and opens the state directory. When
// it fails it has reported why and returns the exit code; the caller closes st otherwise.
func openFlowState(v view, flow string, vars varFlags, varsFile, dirFlag, urlFlag string, allowRead []string) (*flowState, int) {
	fl, diags := loadFlow(flow, allowRead)
	if fl == nil {
		return nil, v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", flow), diags)
	}
	if !v.json {
		v.diags(runWarnings(diags))
	}
	given, err := parseVars(vars, varsFile)
	if err != nil {
		return nil, v.fail(errUsage, err, nil)
	}
	dir := stateDir(dirFlag, flow)
	stateURL, err := resolveStateURL(urlFlag, fl.Spec)
	if err != nil {
		return nil, v.fail(errState, err, nil)
	}
	st, err := openStore(dir, stateURL)
	if err != nil {
		return nil, v.fail(errState, err, nil)
	}
	return &flowState{fl: fl, vars: given, st: st, dir: dir, diags: diags}, exitOK
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// varFlags collects repeated --var k=v flags.
type varFlags []string

func (v *varFlags) String() string     { return strings.Join(*v, ",") }
func (v *varFlags) Set(s string) error { *v = append(*v, s); return nil }

// parseVars reads --var k=v, --var k=@file and --vars-file (YAML or JSON mapping). Files
// are read like file() reads them: regular files of at most 32 MiB (spec.MaxReadBytes).
func parseVars(pairs []string, varsFile string) (map[string]any, error) {
	out := map[string]any{}
	if varsFile != "" {
		b, err := spec.ReadLimited(varsFile)
		if err != nil {
			return nil, fmt.Errorf("--vars-file: %w", err)
		}
		var m map[string]any
		if err := yamlUnmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("--vars-file %s: expected a mapping of var → value: %w", varsFile, err)
		}
		for k, v := range m {
			out[k] = v
		}
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: expected name=value or name=@file", p)
		}
		if strings.HasPrefix(v, "@") {
			b, err := spec.ReadLimited(v[1:])
			if err != nil {
				return nil, fmt.Errorf("--var %s: %w", k, err)
			}
			v = string(b)
		}
		out[k] = v
	}
	return out, nil
}
