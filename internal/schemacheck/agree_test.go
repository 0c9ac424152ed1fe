package schemacheck_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/internal/schemacheck"
	_ "github.com/aiflow/aiflow/providers/all"
	_ "github.com/aiflow/aiflow/providers/anthropic"
	_ "github.com/aiflow/aiflow/providers/local"
	_ "github.com/aiflow/aiflow/providers/openai"
	_ "github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/all"
)

const root = "../.."

// verdict is what a checker should say about a flow file.
type verdict int

const (
	valid    verdict = iota // both accept it
	invalid                 // both refuse it
	semantic                // "# SEMANTIC" first line: the schema accepts what only the Go validator can see
	syntax                  // "# SYNTAX" first line: YAML without a JSON form; the schema cannot judge it
)

func (v verdict) String() string {
	return [...]string{"valid", "invalid", "semantic", "syntax"}[v]
}

type flowFile struct {
	path string
	want verdict
}

// flowFiles lists every example and test flow with the verdict it should get.
func flowFiles(t *testing.T) []flowFile {
	var out []flowFile
	add := func(pattern string, base verdict) {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			out = append(out, flowFile{path: f, want: marked(t, f, base)})
		}
	}
	add("examples/flows/*.yaml", valid)
	add("spec/testdata/valid/*.yaml", valid)
	add("engine/testdata/invalid/*.yaml", invalid)
	if len(out) == 0 {
		t.Fatal("no flow files")
	}
	return out
}

// marked reads the # SEMANTIC or # SYNTAX marker on the first line of an invalid flow.
func marked(t *testing.T, path string, base verdict) verdict {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bufio.NewReader(bytes.NewReader(b)).ReadLine()
	switch line := string(first); {
	case base != invalid:
		return base
	case strings.HasPrefix(line, "# SEMANTIC"):
		return semantic
	case strings.HasPrefix(line, "# SYNTAX"):
		return syntax
	}
	return base
}

func lookupEnv(name string) (string, bool) {
	if name == "AIFLOW_TEST_TOKEN" {
		return "test-token", true
	}
	return "", false
}

// goVerdict runs the Go validator as aiflow validate does.
func goVerdict(path string) spec.Diagnostics {
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() || f == nil {
		return diags
	}
	_, more := engine.Compile(f, engine.Options{LookupEnv: lookupEnv})
	return append(diags, more...)
}

func checker(t testing.TB) *schemacheck.Checker {
	b, err := os.ReadFile(filepath.Join(root, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := schemacheck.New(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSchemaAgreesWithValidator holds schema.json and the Go validator to the same
// verdict on every example and test flow.
func TestSchemaAgreesWithValidator(t *testing.T) {
	c := checker(t)
	for _, ff := range flowFiles(t) {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(ff.path), root+"/"), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(ff.path)
			if err != nil {
				t.Fatal(err)
			}
			diags := goVerdict(ff.path)
			if goOK, want := !diags.HasErrors(), ff.want == valid; goOK != want {
				t.Errorf("Go validator: valid=%v, want %v (%s):\n%v", goOK, want, ff.want, diags.Errors())
			}
			err = c.Check(src)
			var se *schemacheck.SyntaxError
			isSyntax := errors.As(err, &se)
			switch ff.want {
			case valid, semantic:
				if err != nil {
					t.Errorf("schema refuses a %s flow: %v", ff.want, err)
				}
			case syntax:
				if !isSyntax {
					t.Errorf("marked # SYNTAX, but it decodes as plain data (schema says %v)", err)
				}
			case invalid:
				if err == nil || isSyntax {
					t.Errorf("schema should refuse it (Go says %v), got %v", diags.Errors(), err)
				} else if !sameSpot(err, diags) {
					t.Errorf("schema and Go validator refuse it for different fields:\nGo: %v\nschema: %v", diags.Errors(), err)
				}
			}
		})
	}
}

// sameSpot reports whether some field the schema refuses lies on the path of some Go
// error (one is the other or an ancestor of it), so both refuse the flow for the same
// mistake and not by coincidence.
func sameSpot(err error, diags spec.Diagnostics) bool {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, loc := range leafLocations(ve) {
		for _, d := range diags.Errors() {
			if related(loc, dotted(d.Path)) {
				return true
			}
		}
	}
	return false
}

func leafLocations(ve *jsonschema.ValidationError) []string {
	if len(ve.Causes) == 0 {
		return []string{strings.Join(ve.InstanceLocation, ".")}
	}
	var out []string
	for _, c := range ve.Causes {
		out = append(out, leafLocations(c)...)
	}
	return out
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// dotted writes a Go diagnostic path (routes.r.rules[0]) the way schema locations read.
func dotted(path string) string { return indexRE.ReplaceAllString(path, ".$1") }

func related(a, b string) bool {
	return a == b || a == "" || b == "" || strings.HasPrefix(b, a+".") || strings.HasPrefix(a, b+".")
}
