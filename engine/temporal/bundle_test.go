package temporal_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/internal/testfiles"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/generate"
	"github.com/aiflow/aiflow/steps/transform"
)

// rootsCompiler compiles as the CLI does: reads confined to the flow's directory and
// allow, every read told to observe (nil: none), env() reading lookupEnv (nil: the
// process's).
func rootsCompiler(p *fake.Provider, observe func(string), lookupEnv ...func(string) (string, bool)) func(file string, src []byte, allow []string) (*engine.Flow, error) {
	return func(file string, src []byte, allow []string) (*engine.Flow, error) {
		reg := steps.NewRegistry()
		for _, k := range []steps.Kind{generate.Kind, transform.Kind} {
			if err := reg.Register(k); err != nil {
				return nil, err
			}
		}
		preg := providers.NewRegistry()
		if err := preg.Register(p.Info()); err != nil {
			return nil, err
		}
		roots, err := spec.NewReadRoots(filepath.Dir(file), allow...)
		if err != nil {
			return nil, err
		}
		if observe != nil {
			roots.SetObserver(observe)
		}
		f, diags := spec.ParseIn(file, src, roots)
		if diags.HasErrors() {
			return nil, diags.Err()
		}
		opts := engine.Options{Steps: reg, Providers: preg}
		if len(lookupEnv) > 0 {
			opts.LookupEnv = lookupEnv[0]
		}
		fl, diags := engine.Compile(f, opts)
		if diags.HasErrors() {
			return nil, diags.Err()
		}
		return fl, nil
	}
}

const bundledFlow = `aiflow: 1
name: bundled
vars:
  intro: { type: string, default: '${ file("notes/intro.txt") }' }
  key: { type: string, secret: true, default: '${ env("AIFLOW_BUNDLE_TEST_KEY") }' }
providers:
  f: { kind: fake }
steps:
  docs:
    uses: transform
    with: { expr: '${ glob("data/*.md") }' }
  ask:
    uses: generate
    model: f:m
    for_each: ${ steps.docs.output.value }
    prompt:
      file: prompt.md
outputs:
  answers: ${ map(steps.ask.output, .text) }
  intro: ${ vars.intro }
`

// writeBundled writes the flow, its prompt file and the files it reads into a new
// directory and returns the flow's path.
func writeBundled(t *testing.T, flow string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"flow.yaml":       flow,
		"prompt.md":       "Summarise ${ each.value }: ${ file(each.value) }",
		"data/a.md":       "bees dance",
		"data/b.md":       "ants march",
		"notes/intro.txt": "hello from the notes",
		"unread.txt":      "never read by the flow",
	}
	testfiles.Write(t, dir, files)
	return filepath.Join(dir, "flow.yaml")
}

// TestBundleCarriesFiles: the files a flow reads (its prompt file, a var default's
// file(), a glob() and the file() of each match) are packed at submit, and the run on
// Temporal gives the local engine's outputs after the flow's directory is deleted.
func TestBundleCarriesFiles(t *testing.T) {
	path := writeBundled(t, bundledFlow)
	src, _ := os.ReadFile(path)
	p := fake.New()
	fl, err := rootsCompiler(p, nil)(path, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Packed while the key only workers have is unset here: env() is theirs.
	files, roots, err := temporal.CollectFiles(context.Background(), func(obs func(string), env func(string) (string, bool)) (*engine.Flow, error) {
		return rootsCompiler(fake.New(), obs, env)(path, src, nil)
	}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AIFLOW_BUNDLE_TEST_KEY", "k-123")
	st := openStore(t)
	local, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("local: %v", err)
	}
	var names []string
	for _, f := range files {
		rel, _ := filepath.Rel(roots[0], f.Path)
		names = append(names, rel)
	}
	if d := cmp.Diff([]string{"data/a.md", "data/b.md", "notes/intro.txt", "prompt.md"}, names); d != "" {
		t.Errorf("packed files (-want +got):\n%s", d)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	r := runBundleOnSuite(t, rootsCompiler(fake.New(), nil), fl, temporal.Bundle{FlowFile: path, Source: src, Files: files, Roots: roots}, 0)
	if r.err != nil {
		t.Fatalf("workflow: %v", r.err)
	}
	if r.out.Error != "" {
		t.Fatalf("run failed: %s", r.out.Error)
	}
	if d := cmp.Diff(local.Outputs, r.out.Result.Outputs); d != "" {
		t.Errorf("outputs differ from the local engine's (-local +temporal):\n%s", d)
	}
	if ans, _ := r.out.Result.Outputs["answers"].([]any); len(ans) != 2 || !strings.Contains(ans[0].(string), "bees dance") {
		t.Errorf("answers %v, want the two files' text", r.out.Result.Outputs["answers"])
	}
}

// TestCollectFilesRefusesRunTimePaths: a step reading a file whose path comes from a
// model's output cannot have it packed at submit; it is refused naming the step, field
// and position.
func TestCollectFilesRefusesRunTimePaths(t *testing.T) {
	flow := bundledFlow + `  readback:
    uses: transform
    with: { expr: '${ file(steps.ask.output[0].text) }' }
`
	flow = strings.Replace(flow, "outputs:\n  answers: ${ map(steps.ask.output, .text) }\n  intro: ${ vars.intro }\n", "", 1)
	path := writeBundled(t, flow)
	src, _ := os.ReadFile(path)
	_, _, err := temporal.CollectFiles(context.Background(), func(obs func(string), env func(string) (string, bool)) (*engine.Flow, error) {
		return rootsCompiler(fake.New(), obs, env)(path, src, nil)
	}, nil, 0)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"flow.yaml:20:19", "steps.readback.with.expr", `step "readback" calls file()`, "known only at run time"} {
		if !strings.Contains(diagText(err), want) {
			t.Errorf("error %q does not contain %q", diagText(err), want)
		}
	}
}

// TestPackRefusesBigBundles: a bundle over the limit of a workflow input is refused,
// naming its biggest file and the limit.
func TestPackRefusesBigBundles(t *testing.T) {
	big := make([]byte, 2<<20) // random: does not compress
	rand.Read(big)
	_, _, err := temporal.Pack(temporal.Bundle{FlowFile: "/w/flow.yaml", Source: []byte("aiflow: 1"),
		Files: []temporal.BundleFile{{Path: "/w/big.bin", Data: big}, {Path: "/w/small.txt", Data: []byte("x")}}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"/w/big.bin (2097152 bytes)", "1572864-byte (1.5 MiB) limit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	data, hash, err := temporal.Pack(temporal.Bundle{FlowFile: "/w/flow.yaml", Source: []byte("aiflow: 1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := temporal.Unpack(data, hash); err != nil {
		t.Errorf("unpacking: %v", err)
	}
	if _, err := temporal.Unpack(data, strings.Repeat("0", 64)); err == nil {
		t.Error("a bundle not matching its hash was accepted")
	}
	evil, hash, err := temporal.Pack(temporal.Bundle{FlowFile: "/w/flow.yaml", Roots: []string{"/w"},
		Files: []temporal.BundleFile{{Path: "/w/../../etc/x", SHA256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", Data: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := temporal.Unpack(evil, hash); err == nil || !strings.Contains(err.Error(), "not absolute and clean") {
		t.Errorf("a path leaving the bundle's directory: %v, want refused", err)
	}
}

func diagText(err error) string {
	if de, ok := err.(*spec.DiagnosticsError); ok {
		var b strings.Builder
		for _, d := range de.Diags {
			b.WriteString(d.Pos.String() + ": " + d.Path + ": " + d.Summary + " " + d.Detail + "\n")
		}
		return b.String()
	}
	return err.Error()
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestLegacyBundleInStateDir: a run started before bundles travelled in the workflow
// input (its bundle a blob in the state, named by Ref.Bundle) still runs.
func TestLegacyBundleInStateDir(t *testing.T) {
	b := temporal.Bundle{FlowFile: "flow.yaml", Source: []byte(dagFlow)}
	r := runBundleOnSuite(t, compiler(fake.New()), nil, b, 0, func(in *temporal.Input) {
		bl, err := temporal.WriteBundle(in.Ref.StateDir, b)
		if err != nil {
			t.Fatal(err)
		}
		in.Ref.Bundle, in.Ref.BundleHash, in.Bundle = bl, "", nil
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := r.out.Result.Outputs["joined"]; got != "m: ALPHA|m: BETA|m: GAMMA" {
		t.Errorf("joined = %v", got)
	}
}
