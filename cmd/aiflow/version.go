package main

import (
	"fmt"
	"io"
	"runtime"
)

func init() {
	register(command{name: "version", summary: "Print the aiflow version", run: func(_ []string, stdout, _ io.Writer) int {
		fmt.Fprintf(stdout, "aiflow %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}})
}
