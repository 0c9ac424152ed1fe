package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeApertium writes a stand-in for the apertium command: -l lists modes, anything else
// echoes stdin after "[mode] ".
func fakeApertium(t testing.TB, modes ...string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake apertium is a shell script")
	}
	script := "#!/bin/sh\nfor a in \"$@\"; do last=$a; done\n" +
		"if [ \"$1\" = -l ]; then printf '  %s\\n' " + strings.Join(modes, " ") + "; exit 0; fi\n" +
		"printf '[%s] ' \"$last\"; cat\n"
	path := filepath.Join(t.TempDir(), "apertium")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestApertiumPairsNote(t *testing.T) {
	tests := []struct {
		name      string
		command   func(t *testing.T) string
		wantPairs []string
		wantNote  string
	}{
		{"installed pairs", func(t *testing.T) string { return fakeApertium(t, "eng-spa", "spa-eng") },
			[]string{"eng-spa", "spa-eng"}, "apertium pairs installed: eng-spa, spa-eng"},
		{"no pairs", func(t *testing.T) string { return fakeApertium(t) },
			[]string{}, "apertium installed, no pairs (e.g. apt-get install apertium-eng-spa)"},
		{"not installed", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no-apertium") },
			nil, "apertium not installed (apt-get install apertium apertium-eng-spa)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(c string) { apertiumCommand = c }(apertiumCommand)
			apertiumCommand = tt.command(t)
			pairs, note := apertiumPairsNote(context.Background())
			if note != tt.wantNote || strings.Join(pairs, ",") != strings.Join(tt.wantPairs, ",") || (pairs == nil) != (tt.wantPairs == nil) {
				t.Errorf("apertiumPairsNote = %q, %q; want %q, %q", pairs, note, tt.wantPairs, tt.wantNote)
			}
		})
	}
}

// TestRunMissingApertiumPair checks that a run translating into a pair that is not
// installed fails naming the pair, the package to install and what is installed.
func TestRunMissingApertiumPair(t *testing.T) {
	bin := fakeApertium(t, "eng-spa", "spa-eng")
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	src := "aiflow: 1\nname: tr\nproviders:\n  local: {kind: local, apertium: " + bin + "}\n" +
		"steps:\n  t:\n    uses: translate\n    with: {text: Hello., to: ca}\n"
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run([]string{"run", flow}, &out, &out); code != exitError {
		t.Fatalf("exit %d, want %d:\n%s", code, exitError, out.String())
	}
	for _, want := range []string{"no eng-cat mode installed", "apt-get install apertium-eng-cat", "installed: eng-spa, spa-eng"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not contain %q:\n%s", want, out.String())
		}
	}
}
