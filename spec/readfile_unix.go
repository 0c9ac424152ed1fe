//go:build unix

package spec

import "syscall"

// openNonblock keeps open(2) from waiting for a writer should a named pipe appear
// between the type check and the open; regular files ignore it.
const openNonblock = syscall.O_NONBLOCK
