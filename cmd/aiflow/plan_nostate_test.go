package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanMakesNoStateDir: `aiflow plan` of a flow with resources that was never
// applied plans them for creation without making the .aiflow directory (nor a database
// file in it): a plan changes nothing.
func TestPlanMakesNoStateDir(t *testing.T) {
	dir, flow := writeInfraFlow(t)
	code, out, errOut := cli(t, "", false, "plan", flow)
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errOut)
	}
	for _, want := range []string{"+ db (database, local) will be created", "+ kb (vector-index, local) will be created"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".aiflow")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("plan made the state directory: %v", err)
	}
}
