package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCommandArgErrors checks the opening every command shares (parseCommand): an
// unknown flag is reported once, by the flag package, on stderr, with nothing on stdout even
// under -o json, and an unknown -o is a usage error in the format asked for.
func TestCommandArgErrors(t *testing.T) {
	commands := [][]string{{"validate"}, {"plan"}, {"run"}, {"test"}, {"graph"}, {"fmt"},
		{"models"}, {"runs"}, {"runs", "prune"}, {"gc"}, {"cache", "stats"}}
	for _, cmd := range commands {
		name := strings.Join(cmd, " ")
		t.Run(name+" unknown flag", func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(append(append([]string{}, cmd...), "-o", "json", "--no-such-flag"), &stdout, &stderr)
			if code != exitError || stdout.Len() != 0 || strings.Count(stderr.String(), "flag provided but not defined: -no-such-flag") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, the flag error once on stderr", code, stdout.String(), stderr.String())
			}
		})
		t.Run(name+" unknown -o", func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(append(append([]string{}, cmd...), "-o", "xml"), &stdout, &stderr)
			const want = `-o: unknown format "xml" (use human or json)`
			if code != exitError || stdout.Len() != 0 || !strings.Contains(stderr.String(), want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q on stderr", code, stdout.String(), stderr.String(), want)
			}
		})
	}
}

// TestCommandArgErrorsJSON checks that an error after a valid -o json is a JSON usage
// error on stdout.
func TestCommandArgErrorsJSON(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"gc", "-o", "json", "a.yaml", "b.yaml"}, &stdout, &stderr)
	var out struct {
		Error struct{ Kind, Message string }
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil || code != exitError || out.Error.Kind != errUsage {
		t.Errorf("exit %d, stdout %q (%v); want exit 1 and a JSON %s error", code, stdout.String(), err, errUsage)
	}
}

// TestHelpFlagExitsZero: `aiflow <command> -h` prints the command's usage and exits 0, as
// `aiflow help <command>` does; it used to exit 1 like a flag error.
func TestHelpFlagExitsZero(t *testing.T) {
	commands := [][]string{{"validate"}, {"plan"}, {"run"}, {"apply"}, {"destroy"}, {"test"}, {"graph"},
		{"fmt"}, {"models"}, {"runs"}, {"runs", "prune"}, {"gc"}, {"cache", "stats"}}
	for _, cmd := range commands {
		for _, h := range []string{"-h", "--help"} {
			name := strings.Join(cmd, " ") + " " + h
			t.Run(name, func(t *testing.T) {
				var stdout, stderr strings.Builder
				code := run(append(append([]string{}, cmd...), h), &stdout, &stderr)
				if code != exitOK || !strings.Contains(stderr.String(), "Usage of aiflow") {
					t.Errorf("exit %d, stderr %q; want exit 0 and the usage", code, stderr.String())
				}
			})
		}
	}
}
