package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxReadBytes bounds what prompt files, file() and --var name=@file read, so a flow
// pointing at a huge file fails clearly instead of exhausting memory (the value is kept
// in the run state, so a big file costs twice).
const MaxReadBytes = 32 << 20

// ErrNotRegular is the cause of reading something that is not a regular file: a named
// pipe blocks until a writer comes, a device may never end, a directory has no text.
var ErrNotRegular = errors.New("not a regular file")

// ReadLimited reads a regular file of at most MaxReadBytes. It checks the file type
// before opening, and opens without blocking, so a named pipe or a device is refused at
// once instead of hanging; errors are *fs.PathError naming path.
func ReadLimited(path string) ([]byte, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > MaxReadBytes {
		return nil, tooLarge(path, st.Size())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxReadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxReadBytes {
		return nil, tooLarge(path, int64(len(b)))
	}
	return b, nil
}

// openRegular opens path for reading if it is a regular file, checking the type before
// the open and again on the open file (path may have been swapped in between).
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open" // what the caller asked for
		}
		return nil, nil, err
	}
	if err := checkRegular(path, st); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	if st, err = f.Stat(); err == nil {
		err = checkRegular(path, st)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

func checkRegular(path string, st fs.FileInfo) error {
	if !st.Mode().IsRegular() {
		return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, describeMode(st.Mode()))}
	}
	return nil
}

func tooLarge(path string, n int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("the file has %d bytes; the limit is %d (32 MiB)", n, MaxReadBytes)}
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}
