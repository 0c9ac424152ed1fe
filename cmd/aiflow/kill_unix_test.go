//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// killWhen starts aiflow with args, sends it SIGKILL as soon as ready reports true, and
// checks that the signal is what ended it. progress says, for a failure message, how far
// the run got (it fails the test if the run ends by itself or is not ready in 30 s).
func killWhen(t *testing.T, bin string, env, args []string, ready func() bool, progress func() string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("aiflow %s ended (%v) before the kill, with %s\nstderr:\n%s", args[0], err, progress(), stderr.String())
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("aiflow %s not ready to kill after 30s: %s\nstderr:\n%s", args[0], progress(), stderr.String())
		case <-time.After(time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("aiflow %s was not killed by SIGKILL: %v", args[0], cmd.ProcessState)
	}
}
