package main

import (
	"context"
	"fmt"
	"io"
)

func init() {
	register(command{name: "validate", summary: "Check a flow file: syntax, references, types, cycles", run: validateCmd})
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", stderr)
	o := outputFlag(fs)
	allowRead := allowReadFlag(fs)
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	path, err := flowArg(pos)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	fl, diags := loadFlow(path, *allowRead)
	valid := fl != nil && !diags.HasErrors()
	if valid {
		diags = append(diags, translationWarnings(context.Background(), fl, nil)...).Sort()
	}
	if v.json {
		out := map[string]any{"format_version": jsonFormatVersion, "valid": valid, "diagnostics": diagList(diags),
			"error_count": len(diags.Errors()), "warning_count": len(diags.Warnings())}
		if !valid {
			out["error"] = map[string]any{"kind": errInvalidFlow}
		}
		v.writeJSON(out)
	} else {
		v.diags(diags)
		if valid {
			fmt.Fprintf(stdout, "%s: valid (%d steps)\n", path, len(fl.Order))
		}
	}
	if !valid {
		return exitError
	}
	return exitOK
}
