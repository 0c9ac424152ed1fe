package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

const messyFlow = `aiflow: 1
name: messy
vars:
  size: {type: integer,   default: 8}
steps:
    a:
        uses: transform
        with:
            expr: 1
`

const messyDiff = `--- flow.yaml
+++ flow.yaml (formatted)
@@ -1,9 +1,11 @@
 aiflow: 1
 name: messy
+
 vars:
-  size: {type: integer,   default: 8}
+  size: { type: integer, default: 8 }
+
 steps:
-    a:
-        uses: transform
-        with:
-            expr: 1
+  a:
+    uses: transform
+    with:
+      expr: 1
`

const mapsFlow = `aiflow: 1
name: maps
vars:
  a: {type: string}
  b: { type: integer, default: 2 }
  c: {type: string, enum: [x, y], default: "{not: a map}"}
  d: {}
steps:
  s:
    uses: transform
    with:
      expr: '${ {"k": [1, {"n": 2}]} }'
      params: {nested: {deep: [1, {x: 1}]}, 'q}': "]"}
`

const mapsFormatted = `aiflow: 1
name: maps

vars:
  a: { type: string }
  b: { type: integer, default: 2 }
  c: { type: string, enum: [x, y], default: "{not: a map}" }
  d: {}

steps:
  s:
    uses: transform
    with:
      expr: '${ {"k": [1, {"n": 2}]} }'
      params: { nested: { deep: [1, { x: 1 }] }, 'q}': "]" }
`

// TestFmtCommand covers fmt's documents (issue 12, bug 10): --check prints a unified diff,
// -o json reports every file, and flow mappings are written as { key: value } like the
// README's examples.
func TestFmtCommand(t *testing.T) {
	tests := []struct {
		name           string
		files          map[string]string
		args           []string
		code           int
		stdout, stderr string
		after          map[string]string // file contents afterwards
	}{
		{name: "check prints a diff", files: map[string]string{"flow.yaml": messyFlow}, args: []string{"--check", "flow.yaml"},
			code: exitError, stdout: messyDiff, after: map[string]string{"flow.yaml": messyFlow}},
		{name: "check of a formatted file", files: map[string]string{"flow.yaml": mapsFormatted}, args: []string{"--check", "flow.yaml"},
			code: exitOK},
		{name: "rewrite", files: map[string]string{"flow.yaml": mapsFlow}, args: []string{"flow.yaml"},
			code: exitOK, stdout: "flow.yaml\n", after: map[string]string{"flow.yaml": mapsFormatted}},
		{name: "unparsable", files: map[string]string{"bad.yaml": "name: [unclosed\n"}, args: []string{"bad.yaml"},
			code: exitError, stderr: "Error: bad.yaml: yaml: line 1: did not find expected ',' or ']'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			writeFiles(t, tt.files)
			code, stdout, stderr := cli(t, "", false, append([]string{"fmt"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if diff := cmp.Diff(tt.stdout, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stderr, stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			for name, want := range tt.after {
				got, _ := os.ReadFile(name)
				if diff := cmp.Diff(want, string(got)); diff != "" {
					t.Errorf("%s afterwards (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func TestFmtJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFiles(t, map[string]string{"flow.yaml": messyFlow, "ok.yaml": mapsFormatted, "bad.yaml": "name: [unclosed\n"})
	code, stdout, _ := cli(t, "", false, "fmt", "--check", "-o", "json", "flow.yaml", "ok.yaml", "bad.yaml")
	if code != exitError {
		t.Errorf("exit %d, want 1", code)
	}
	var doc struct {
		FormatVersion string    `json:"format_version"`
		Files         []fmtFile `json:"files"`
		Diagnostics   []any     `json:"diagnostics"`
		Error         struct{ Kind, Message string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	want := []fmtFile{
		{File: "flow.yaml", Changed: true, Diff: messyDiff},
		{File: "ok.yaml"},
		{File: "bad.yaml", Error: "bad.yaml: yaml: line 1: did not find expected ',' or ']'"},
	}
	if diff := cmp.Diff(want, doc.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if doc.FormatVersion != jsonFormatVersion || doc.Diagnostics == nil || doc.Error.Kind != errInvalidFlow || doc.Error.Message != "2 of 3 files are not formatted" {
		t.Errorf("document: %s", stdout)
	}
}

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFmtKeepsValues checks that formatting never changes what a flow means: the
// formatted file decodes to the same data as the original.
func TestFmtKeepsValues(t *testing.T) {
	srcs := map[string]string{"messy": messyFlow, "maps": mapsFlow}
	files, _ := filepath.Glob("../../examples/flows/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f] = string(b)
	}
	for name, src := range srcs {
		out, err := formatFlow([]byte(src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var before, after any
		if err := yaml.Unmarshal([]byte(src), &before); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := yaml.Unmarshal(out, &after); err != nil {
			t.Errorf("%s: formatted file does not parse: %v\n%s", name, err, out)
			continue
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("%s: formatting changed values (-before +after):\n%s", name, diff)
		}
	}
}
