//go:build unix

package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	helpers["lock-holder"] = lockHolder
	helpers["lock-taker"] = lockTaker
}

// lockHolder is the helper that takes the lock, prints "locked", holds it
// until its stdin closes, then releases it and prints "unlocked".
func lockHolder() int {
	unlock, err := Lock(os.Getenv("STORE_DIR"), 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if err := unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("unlocked")
	return 0
}

// lockTaker is the helper that tries to take the lock within $WAIT and prints
// "locked" or the error, exiting 3 when the lock was held.
func lockTaker() int {
	wait, _ := time.ParseDuration(os.Getenv("WAIT"))
	unlock, err := Lock(os.Getenv("STORE_DIR"), wait)
	if err != nil {
		fmt.Println(err)
		if errors.Is(err, ErrLocked) {
			return 3
		}
		return 1
	}
	fmt.Println("locked")
	if err := unlock(); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

func TestLockInProcess(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	unlock, err := Lock(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, wait := range []time.Duration{0, 60 * time.Millisecond} {
		t.Run(fmt.Sprintf("second lock waiting %s", wait), func(t *testing.T) {
			_, err := Lock(dir, wait)
			var le *LockedError
			if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
				t.Fatalf("err = %v, want a *LockedError", err)
			}
			if le.Holder.PID != os.Getpid() || le.Holder.Command != filepath.Base(os.Args[0]) || le.Holder.Since.IsZero() {
				t.Errorf("holder = %+v, want this process (%d, %s)", le.Holder, os.Getpid(), filepath.Base(os.Args[0]))
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
				t.Errorf("error %q does not name the holder's pid", err)
			}
		})
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	again, err := Lock(dir, 0)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if err := again(); err != nil {
		t.Fatal(err)
	}
}

// holder is a helper process holding the lock of a directory.
type holder struct {
	t     *testing.T
	pid   int
	stdin io.WriteCloser
	lines *bufio.Scanner
	wait  func() error
}

func startHolder(t *testing.T, dir string) *holder {
	t.Helper()
	cmd := helperCommand(t, "lock-holder", "STORE_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{t: t, pid: cmd.Process.Pid, stdin: stdin, lines: bufio.NewScanner(out), wait: cmd.Wait}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	h.expect("locked")
	return h
}

func (h *holder) expect(line string) {
	h.t.Helper()
	if !h.lines.Scan() || h.lines.Text() != line {
		h.t.Fatalf("holder printed %q (%v), want %q", h.lines.Text(), h.lines.Err(), line)
	}
}

func (h *holder) release() {
	h.t.Helper()
	h.stdin.Close()
	h.expect("unlocked")
	if err := h.wait(); err != nil {
		h.t.Fatalf("holder: %v", err)
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	sqliteOnly(t)
	if testing.Short() {
		t.Skip("spawns processes")
	}
	t.Run("second process fails naming the holder", func(t *testing.T) {
		dir := t.TempDir()
		h := startHolder(t, dir)
		_, err := Lock(dir, 0)
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("err = %v, want a *LockedError", err)
		}
		if le.Holder.PID != h.pid || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", h.pid)) {
			t.Fatalf("error %q names holder %+v, want pid %d", err, le.Holder, h.pid)
		}
		h.release()
	})
	t.Run("waiter succeeds once the holder releases", func(t *testing.T) {
		dir := t.TempDir()
		h := startHolder(t, dir)
		got := make(chan error, 1)
		go func() {
			unlock, err := Lock(dir, time.Minute)
			if err == nil {
				err = unlock()
			}
			got <- err
		}()
		h.release()
		if err := <-got; err != nil {
			t.Fatalf("waiting Lock: %v", err)
		}
	})
	t.Run("killed holder's lock is free", func(t *testing.T) {
		dir := t.TempDir()
		h := startHolder(t, dir)
		if err := syscall.Kill(h.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		h.wait()
		unlock, err := Lock(dir, time.Minute)
		if err != nil {
			t.Fatalf("Lock after the holder was killed: %v", err)
		}
		unlock()
	})
	t.Run("child fails while this process holds it", func(t *testing.T) {
		dir := t.TempDir()
		unlock, err := Lock(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		out, err := helperCommand(t, "lock-taker", "STORE_DIR="+dir, "WAIT=0s").Output()
		var ee interface{ ExitCode() int }
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("taker: %v, output %q; want exit 3", err, out)
		}
		if want := fmt.Sprintf("held by pid %d", os.Getpid()); !strings.Contains(string(out), want) {
			t.Fatalf("taker said %q, want it to contain %q", out, want)
		}
	})
	t.Run("child waits and succeeds after release", func(t *testing.T) {
		dir := t.TempDir()
		unlock, err := Lock(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := helperCommand(t, "lock-taker", "STORE_DIR="+dir, "WAIT=1m")
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil || out.String() != "locked\n" {
			t.Fatalf("taker: %v, output %q; want it to get the lock", err, out.String())
		}
	})
}
