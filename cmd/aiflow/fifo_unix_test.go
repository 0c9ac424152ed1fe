//go:build unix

package main

import "syscall"

// makeFIFO creates a named pipe at path, reporting whether the system has them.
func makeFIFO(path string) bool { return syscall.Mkfifo(path, 0o600) == nil }
