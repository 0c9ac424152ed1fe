package spec

import (
	"fmt"
	"io"
	"os"
)

// MaxReadBytes bounds what prompt files and file() read, so a flow pointing at a device
// or a huge file fails clearly instead of hanging or exhausting memory.
const MaxReadBytes = 32 << 20

// ReadLimited reads a regular file of at most MaxReadBytes.
func ReadLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > MaxReadBytes {
		return nil, fmt.Errorf("%s has %d bytes; the limit is %d (32 MiB)", path, st.Size(), MaxReadBytes)
	}
	return io.ReadAll(io.LimitReader(f, MaxReadBytes+1))
}
