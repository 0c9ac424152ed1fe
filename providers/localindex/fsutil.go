package localindex

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic writes data to path via a synced temporary file and a rename, then syncs
// the directory.
func writeFileAtomic(path string, data []byte) error {
	return replaceFile(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// replaceFile creates path.tmp, lets fill write it, fsyncs it, renames it over path and
// fsyncs the directory. A crash leaves either the old file or the new one.
func replaceFile(path string, fill func(*os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes renames and creations in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
