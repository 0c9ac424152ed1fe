package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// LockFile is the name of the lock file inside a state directory.
const LockFile = "lock"

// RunLockDir is the folder of a state directory holding one run lock per flow.
const RunLockDir = "locks"

// lockPoll is how often Lock retries while it waits.
const lockPoll = 25 * time.Millisecond

// ErrLocked is wrapped (through *LockedError) when another process holds the
// state lock.
var ErrLocked = errors.New("state is locked")

// LockHolder is who holds a state lock, as the holder wrote it into the lock file.
type LockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"` // executable and subcommand; never flags or their values
	Host    string    `json:"host,omitempty"`
	Since   time.Time `json:"since"`
	// Flow and RunID are set for a run lock: the flow file and the run it is executing.
	Flow  string `json:"flow,omitempty"`
	RunID string `json:"run_id,omitempty"`
}

// LockedError reports a lock that stayed held for the whole wait.
type LockedError struct {
	Path   string
	Flow   string     // set for a run lock: the flow that is already running
	Holder LockHolder // zero if the holder had not written its details yet
	Waited time.Duration
}

// Error names the holder: "state lock .aiflow/lock is held by pid 4242
// (aiflow apply) on host since 2026-12-01T18:15:03Z; waited 2s", or for a run
// lock "flow f.yaml is already running: run lock .aiflow/locks/run-….lock is
// held by pid 4242 (aiflow run) on host since …, run 20261201T181503.123Z-…;
// waited 0s".
func (e *LockedError) Error() string {
	var b strings.Builder
	if e.Flow != "" {
		fmt.Fprintf(&b, "flow %s is already running: run lock %s is held by ", e.Flow, e.Path)
	} else {
		fmt.Fprintf(&b, "state lock %s is held by ", e.Path)
	}
	h := e.Holder
	if h.PID == 0 {
		b.WriteString("another process (no holder details recorded yet)")
	} else {
		fmt.Fprintf(&b, "pid %d (%s)", h.PID, h.Command)
		if h.Host != "" {
			fmt.Fprintf(&b, " on %s", h.Host)
		}
		fmt.Fprintf(&b, " since %s", h.Since.UTC().Format(time.RFC3339))
		if h.RunID != "" {
			fmt.Fprintf(&b, ", run %s", h.RunID)
		}
	}
	fmt.Fprintf(&b, "; waited %s", e.Waited.Round(time.Millisecond))
	return b.String()
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock takes the exclusive state lock of dir (an advisory lock on dir/lock
// that the kernel drops when the process dies), waiting up to wait for it.
// It serialises commands that change resources, such as apply and destroy,
// across processes; concurrent Lock calls within one process exclude each
// other too. On timeout the error is a *LockedError naming the holder. The
// returned unlock releases the lock; calling it again does nothing.
func Lock(dir string, wait time.Duration) (unlock func() error, err error) {
	return lockFile(dir, LockFile, LockHolder{}, wait)
}

// LockRun takes the run lock of the flow file at path flow (made absolute) in the
// state directory dir, waiting up to wait for it: one lock file per flow under
// dir/locks, so two processes never run the same flow against the same state
// (each would pay for every call), while different flows sharing the directory
// still run at once. runID is recorded for the error a second process gets,
// which names the holder's pid, host and run. Like Lock, the lock is advisory
// and the kernel drops it when the holder dies, so a killed run's lock is free.
func LockRun(dir, flow, runID string, wait time.Duration) (unlock func() error, err error) {
	if abs, err := filepath.Abs(flow); err == nil {
		flow = abs
	}
	sum := sha256.Sum256([]byte(flow))
	name := filepath.Join(RunLockDir, "run-"+hex.EncodeToString(sum[:8])+".lock")
	unlock, err = lockFile(dir, name, LockHolder{Flow: flow, RunID: runID}, wait)
	var le *LockedError
	if errors.As(err, &le) {
		le.Flow = flow
	}
	return unlock, err
}

// lockFile takes the lock dir/name, recording holder (completed with this
// process's details) in it.
func lockFile(dir, name string, holder LockHolder, wait time.Duration) (unlock func() error, err error) {
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("locking state: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking state: %w", err)
	}
	if err := acquire(f, path, wait); err != nil {
		f.Close()
		return nil, err
	}
	if err := writeHolder(f, holder); err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("locking state: recording holder in %s: %w", path, err)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() { uerr = release(f, path) })
		return uerr
	}, nil
}

// acquire polls for the lock until it is taken or wait has passed.
func acquire(f *os.File, path string, wait time.Duration) error {
	start := time.Now()
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			return fmt.Errorf("locking state %s: %w", path, err)
		}
		if ok {
			return nil
		}
		waited := time.Since(start)
		if waited >= wait {
			return &LockedError{Path: path, Holder: readHolder(f), Waited: waited}
		}
		time.Sleep(min(lockPoll, wait-waited))
	}
}

func writeHolder(f *os.File, h LockHolder) error {
	h.PID, h.Command, h.Since = os.Getpid(), commandName(), time.Now().UTC()
	h.Host, _ = os.Hostname()
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(append(b, '\n'), 0)
	return err
}

// readHolder reads what the holder wrote; a half-written or empty file
// yields the zero LockHolder.
func readHolder(f *os.File) LockHolder {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 64<<10))
	var h LockHolder
	if err != nil || json.Unmarshal(b, &h) != nil {
		return LockHolder{}
	}
	return h
}

// commandName is the executable's base name and the subcommand, if any.
// Flags and arguments are left out: they may carry secrets.
func commandName() string {
	if len(os.Args) == 0 {
		return ""
	}
	name := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && os.Args[1] != "" && !strings.HasPrefix(os.Args[1], "-") && !strings.ContainsAny(os.Args[1], "=/ ") {
		name += " " + os.Args[1]
	}
	return name
}

func release(f *os.File, path string) error {
	// Clear the holder first: once unlocked, a waiter may write its own.
	errT := f.Truncate(0)
	errU := unlockFile(f)
	errC := f.Close()
	if err := errors.Join(errT, errU, errC); err != nil {
		return fmt.Errorf("unlocking state %s: %w", path, err)
	}
	return nil
}
