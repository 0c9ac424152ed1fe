//go:build !unix

package local

import "os/exec"

// ownProcessGroup is a no-op where process groups are not available; cancellation kills only
// the apertium process itself.
func ownProcessGroup(*exec.Cmd) {}
