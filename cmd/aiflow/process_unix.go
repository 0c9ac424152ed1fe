//go:build unix

package main

import "syscall"

// processGone reports whether no process with pid exists.
func processGone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
