//go:build !unix

package spec

const openNonblock = 0
