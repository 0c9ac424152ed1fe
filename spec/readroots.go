package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrReadDenied is the cause of reading a file outside the directories a flow may read.
var ErrReadDenied = errors.New("outside the directories this flow may read")

// ReadRoots are the directories a flow may read files from: prompt files, file(),
// glob() and sub-flows. By default that is the flow file's directory; aiflow's
// --allow-read adds more. A sub-flow shares the top-level flow's roots, so it cannot
// widen them. Paths are checked after resolving symlinks, so a link inside a root that
// points outside it is refused too.
type ReadRoots struct {
	dirs []string // absolute, symlinks resolved, cleaned
	// observe, when set, is told every path Resolve lets through (SetObserver).
	observe func(real string)
}

// SetObserver has fn told the resolved path of everything read through r from now on
// (prompt files, sub-flows, file(), glob() matches, blob()): a Temporal submit packs
// exactly those files for workers on other machines. fn must be safe for concurrent use.
func (r *ReadRoots) SetObserver(fn func(real string)) { r.observe = fn }

// NewReadRoots returns flowDir plus allow as read roots. Each allowed directory must
// exist; flowDir may not (a flow parsed from memory), then it is used as written.
func NewReadRoots(flowDir string, allow ...string) (*ReadRoots, error) {
	r := &ReadRoots{}
	r.add(resolveDir(flowDir))
	for _, d := range allow {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("--allow-read %s: %w", d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("--allow-read %s: %w", d, unwrapPathError(err))
		}
		if st, err := os.Stat(real); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--allow-read %s: not a directory", d)
		}
		r.add(real)
	}
	return r, nil
}

func resolveDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

func (r *ReadRoots) add(dir string) {
	for _, d := range r.dirs {
		if d == dir {
			return
		}
	}
	r.dirs = append(r.dirs, dir)
}

// Dirs lists the roots.
func (r *ReadRoots) Dirs() []string { return append([]string(nil), r.dirs...) }

// Contains reports whether the resolved, absolute path lies in a root.
func (r *ReadRoots) Contains(real string) bool {
	for _, d := range r.dirs {
		if real == d || strings.HasPrefix(real, d+string(filepath.Separator)) || (strings.HasSuffix(d, string(filepath.Separator)) && strings.HasPrefix(real, d)) {
			return true
		}
	}
	return false
}

// Resolve returns path with symlinks resolved if it lies in a root, or an
// *fs.PathError naming path (as given) whose cause is ErrReadDenied or why the path
// cannot be resolved.
func (r *ReadRoots) Resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: path, Err: err}
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: path, Err: unwrapPathError(err)}
	}
	if !r.Contains(real) {
		return "", &fs.PathError{Op: "open", Path: path, Err: r.denied()}
	}
	if r.observe != nil {
		r.observe(real)
	}
	return real, nil
}

// denied explains which directories may be read and how to allow more.
func (r *ReadRoots) denied() error {
	return fmt.Errorf("%w (%s); run aiflow with --allow-read DIR to allow another directory", ErrReadDenied, strings.Join(r.dirs, ", "))
}

// ReadFile reads path like ReadLimited, if it lies in a root.
func (r *ReadRoots) ReadFile(path string) ([]byte, error) {
	real, err := r.Resolve(path)
	if err != nil {
		return nil, err
	}
	b, err := ReadLimited(real)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = path // name the file as the flow did
	}
	return b, err
}

// unwrapPathError is the cause inside a *fs.PathError, which names the path the
// caller already shows; other errors are returned as they are.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Open opens path for streaming if it lies in a root and is a regular file, with no
// size limit: binary values (blob()) are hashed and copied as they are read, never
// held whole. Errors are *fs.PathError naming path as given.
func (r *ReadRoots) Open(path string) (*os.File, error) {
	real, err := r.Resolve(path)
	if err != nil {
		return nil, err
	}
	f, _, err := openRegular(real)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = path
	}
	return f, err
}
