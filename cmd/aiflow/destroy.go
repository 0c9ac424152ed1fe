package main

import (
	"io"

	"github.com/aiflow/aiflow/engine/infra"
)

func init() {
	register(command{name: "destroy", summary: "Remove every resource aiflow created for the flow", run: destroyCmd})
}

// destroyCmd lists what it will remove, then removes it after confirmation.
func destroyCmd(args []string, stdout, stderr io.Writer) int {
	a, ok := parseInfraArgs("destroy", args, stderr)
	if !ok {
		return a.exitCode()
	}
	return infraCmd(a, stdout, stderr, infra.Destroy, "Destroy")
}
