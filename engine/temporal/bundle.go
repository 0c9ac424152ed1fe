package temporal

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
)

// BundleFile is one file a run reads (a prompt file, a sub-flow, a file() or glob()
// target), as the submitting machine read it, with its content hash.
type BundleFile struct {
	// Path is absolute and resolved on the submitting machine; workers read the file
	// from the bundle under the same path, never from their own disk.
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Data   []byte `json:"data"`
}

// MaxBundleBytes bounds a packed (gzip-compressed) bundle: it travels in the workflow's
// input, which Temporal keeps in the run's history and limits to 2 MB a payload.
const MaxBundleBytes = 1536 << 10

// QueryBundle is the workflow query a worker without a run's bundle asks it with.
const QueryBundle = "bundle"

// Pack encodes b for the workflow input: gzip-compressed JSON, and the hash workers
// cache it by. A bundle over MaxBundleBytes is refused, naming its biggest files.
func Pack(b Bundle) (data []byte, hash string, err error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, "", fmt.Errorf("encoding run bundle: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, "", fmt.Errorf("compressing run bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, "", fmt.Errorf("compressing run bundle: %w", err)
	}
	if buf.Len() > MaxBundleBytes {
		return nil, "", tooBig(b, buf.Len())
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

// tooBig explains a bundle over the limit by its biggest parts.
func tooBig(b Bundle, size int) error {
	type part struct {
		name string
		n    int
	}
	var parts []part
	for _, f := range b.Files {
		parts = append(parts, part{f.Path, len(f.Data)})
	}
	parts = append(parts, part{"the flow file " + b.FlowFile, len(b.Source)})
	if vars, err := json.Marshal(b.Vars); err == nil {
		parts = append(parts, part{"the vars", len(vars)})
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].n > parts[j].n })
	var names []string
	for _, p := range parts[:min(3, len(parts))] {
		names = append(names, fmt.Sprintf("%s (%d bytes)", p.name, p.n))
	}
	return fmt.Errorf("the run's bundle (the flow, its vars and the files it reads) is %d bytes compressed, over the %d-byte (1.5 MiB) limit of a Temporal workflow input; biggest: %s. Keep big inputs in a bucket or database resource, or run with the local engine",
		size, MaxBundleBytes, strings.Join(names, ", "))
}

// Unpack decodes a packed bundle, checking it against hash and each file against its own.
func Unpack(data []byte, hash string) (Bundle, error) {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); hash != "" && got != hash {
		return Bundle{}, fmt.Errorf("run bundle: content hash %s, want %s", got, hash)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return Bundle{}, fmt.Errorf("run bundle: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 64*MaxBundleBytes))
	if err != nil {
		return Bundle{}, fmt.Errorf("run bundle: %w", err)
	}
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return Bundle{}, fmt.Errorf("decoding run bundle: %w", err)
	}
	for _, f := range b.Files {
		s := sha256.Sum256(f.Data)
		if hex.EncodeToString(s[:]) != f.SHA256 {
			return Bundle{}, fmt.Errorf("run bundle: file %s does not match its hash", f.Path)
		}
	}
	// Paths are unpacked under a directory of the worker's (a bundle with roots): each
	// must be absolute and clean (no ..), so none can land outside it.
	var paths []string
	if len(b.Roots) > 0 || len(b.Files) > 0 {
		paths = append([]string{b.FlowFile}, b.Roots...)
	}
	for _, f := range b.Files {
		paths = append(paths, f.Path)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			return Bundle{}, fmt.Errorf("run bundle: path %q is not absolute and clean", p)
		}
	}
	return b, nil
}

// CollectFiles finds, at submit, every file the run will read — prompt files and
// sub-flows as compile reads them, the targets of file(), glob() and blob() as a plan
// of the flow evaluates them, and databases' migrations — and returns them with the read roots (resolved).
// compile must compile the flow with observe set on its read roots
// (spec.ReadRoots.SetObserver) and env() reading lookupEnv: an environment variable
// unset here reads as a placeholder, since workers read env() from their own
// environment (a var defaulting to env("KEY") set only on workers must not fail the
// submit). A step that calls file(), glob() or blob() but whose
// inputs are known only at run time is refused, naming the step and field: its files
// cannot be packed for workers on other machines.
func CollectFiles(ctx context.Context, compile func(observe func(real string), lookupEnv func(string) (string, bool)) (*engine.Flow, error), vars map[string]any, budgetUSD float64) ([]BundleFile, []string, error) {
	var mu sync.Mutex
	seen := map[string]bool{}
	fl, err := compile(func(real string) {
		mu.Lock()
		seen[real] = true
		mu.Unlock()
	}, submitEnv)
	if err != nil {
		return nil, nil, err
	}
	plan, err := fl.Plan(ctx, engine.PlanOptions{Vars: vars, BudgetUSD: budgetUSD})
	if err != nil {
		return nil, nil, fmt.Errorf("finding the files the run reads: %w", err)
	}
	var diags spec.Diagnostics
	// A step's expressions were evaluated when every step it needs had a known output
	// (computed, cached or skipped); the plan could not evaluate the others.
	known := map[string]bool{}
	for _, ps := range plan.Steps {
		evaluated := ps.Action != engine.ActionRuntime
		for _, d := range ps.Needs {
			evaluated = evaluated && known[d]
		}
		known[ps.ID] = evaluated && (ps.Action == engine.ActionCompute || ps.Action == engine.ActionCached || ps.Action == engine.ActionSkip)
		if evaluated {
			continue
		}
		n := fl.Nodes[ps.ID]
		for _, v := range stepValues(n.Spec) {
			if fn := readCall(v.Node); fn != "" {
				diags.Errorf(v.Pos, v.Path, "step %q calls %s() on inputs known only at run time: a Temporal run cannot pack the files it reads for its workers", ps.ID, fn)
				diags[len(diags)-1].Detail = "make the paths known at submit (vars, literals, or a glob() over them in an earlier step that needs no model output), or run with the local engine"
			}
		}
	}
	if err := diags.Err(); err != nil {
		return nil, nil, err
	}
	// A database's migrations folder is read by whichever worker opens the database.
	for _, name := range sortedKeys(fl.Resources) {
		r := fl.Resources[name]
		dir, ok := r.Literal("migrations")
		if d, isStr := dir.(string); ok && isStr && d != "" && r.Spec.Kind == "database" {
			if !filepath.IsAbs(d) {
				d = filepath.Join(fl.Spec.Dir, d)
			}
			real, err := fl.Spec.Reads.Resolve(d)
			if err != nil {
				return nil, nil, fmt.Errorf("resource %q: migrations: %w", name, err)
			}
			sqls, _ := filepath.Glob(filepath.Join(real, "*.sql"))
			for _, f := range sqls {
				seen[f] = true
			}
		}
	}
	mu.Lock()
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	mu.Unlock()
	sort.Strings(paths)
	var files []BundleFile
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			continue // a glob's base directory, or a file gone since
		}
		data, err := spec.ReadLimited(p)
		if err != nil {
			return nil, nil, fmt.Errorf("packing the run's files: %w", err)
		}
		sum := sha256.Sum256(data)
		files = append(files, BundleFile{Path: p, SHA256: hex.EncodeToString(sum[:]), Data: data})
	}
	return files, fl.Spec.Reads.Dirs(), nil
}

// submitEnv reads the submitting machine's environment, an unset variable as a
// placeholder: only the files a plan reads matter at submit, not env() values.
func submitEnv(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	return "unset-at-submit", true
}

// stepValues are the step's values that expressions may be written in.
func stepValues(s *spec.Step) []*spec.Value {
	out := []*spec.Value{s.ForEach, s.When, s.Params}
	for _, w := range s.With {
		out = append(out, w.Value)
	}
	if p := s.Prompt; p != nil {
		out = append(out, p.System, p.User, p.Messages)
	}
	var kept []*spec.Value
	for _, v := range out {
		if v != nil && v.Node != nil {
			kept = append(kept, v)
		}
	}
	return kept
}

var readCallRE = regexp.MustCompile(`(?:^|[^\w.])(file|glob|blob)\s*\(`)

// readCall names the first of file, glob and blob a value's expressions call, "" for none.
func readCall(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		if m := readCallRE.FindStringSubmatch(n.Value); m != nil {
			return m[1]
		}
		return ""
	}
	for _, k := range n.Content {
		if fn := readCall(k); fn != "" {
			return fn
		}
	}
	return ""
}

// materialize writes bundle b's files under dir (each under its own absolute path) and
// returns the flow file's path there and the read roots there: compiled against them,
// the flow reads prompt files, sub-flows and file()/glob() targets from the bundle only
// (the read roots confine it to dir), whatever the worker's own disk holds. Done once
// per bundle: a finished directory is reused.
func materialize(dir string, b Bundle) (flowFile string, roots []string, err error) {
	flowDir := filepath.Dir(b.FlowFile)
	if len(b.Roots) > 0 {
		flowDir = b.Roots[0]
	}
	flowFile = filepath.Join(dir, flowDir, filepath.Base(b.FlowFile))
	for _, r := range b.Roots {
		roots = append(roots, filepath.Join(dir, r))
	}
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return flowFile, roots, nil
	}
	// A directory of its own for every writer: activities of one worker unpack the same
	// bundle at once as often as two workers do, and a shared name let one writer's
	// cleanup delete another's files before it was renamed into place.
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", nil, fmt.Errorf("run bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp*")
	if err != nil {
		return "", nil, fmt.Errorf("run bundle: %w", err)
	}
	write := func(path string, data []byte) error {
		full := filepath.Join(tmp, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		return os.WriteFile(full, data, 0o600)
	}
	for _, r := range append([]string{flowDir}, b.Roots...) {
		if err := os.MkdirAll(filepath.Join(tmp, r), 0o700); err != nil {
			return "", nil, fmt.Errorf("run bundle: %w", err)
		}
	}
	for _, f := range b.Files {
		if err := write(f.Path, f.Data); err != nil {
			return "", nil, fmt.Errorf("run bundle: %w", err)
		}
	}
	if err := write(filepath.Join(flowDir, filepath.Base(b.FlowFile)), b.Source); err != nil {
		return "", nil, fmt.Errorf("run bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o600); err != nil {
		return "", nil, fmt.Errorf("run bundle: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(done); serr == nil {
			return flowFile, roots, nil // another process got there first
		}
		return "", nil, fmt.Errorf("run bundle: %w", err)
	}
	return flowFile, roots, nil
}

// errNoBundle is a regular activity's bundle missing on a worker that cannot ask for it.
var errNoBundle = errors.New("run bundle: not on this worker and no Temporal client to query the run for it")
