// Package blob holds binary values: images, audio and documents that pass between
// steps by reference. A blob is its media type, size and SHA-256; the bytes live once,
// content-addressed, in a Store under the state directory. Flow values carry a blob as a
// small map (see Value), so JSON outputs, run records and cache keys hold its hash and
// never its bytes, and a blob read back from the run store is the same value again.
package blob

import (
	"encoding/hex"
	"fmt"
	"math"
	"strings"
)

// TypeTag is the "type" entry that marks a flow value as a blob.
const TypeTag = "blob"

// Blob describes binary content by its hash; the bytes are in a Store.
type Blob struct {
	SHA256    string // lowercase hex
	Size      int64
	MediaType string
}

// Value is b as a flow value: {type: blob, sha256, size, media_type}. A map rather than a
// Go struct, so expressions read steps.x.output.image.media_type and a value decoded
// from JSON is recognised as the same blob without a conversion pass.
func (b Blob) Value() map[string]any {
	return map[string]any{"type": TypeTag, "sha256": b.SHA256, "size": b.Size, "media_type": b.MediaType}
}

// String is what people see: media type and size.
func (b Blob) String() string {
	return fmt.Sprintf("%s, %s", b.MediaType, HumanSize(b.Size))
}

// Ext is the file extension (with the dot) for b's media type.
func (b Blob) Ext() string { return Ext(b.MediaType) }

// FromValue recognises a flow value as a blob: a map written by Value, in process or
// decoded from JSON (where size is a float64). Anything else gives ok false.
func FromValue(v any) (Blob, bool) {
	m, ok := v.(map[string]any)
	if !ok || m["type"] != TypeTag || len(m) != 4 {
		return Blob{}, false
	}
	sum, _ := m["sha256"].(string)
	mt, _ := m["media_type"].(string)
	if !validSum(sum) || mt == "" {
		return Blob{}, false
	}
	var size int64
	switch n := m["size"].(type) {
	case int64:
		size = n
	case int:
		size = int64(n)
	case float64:
		if n != math.Trunc(n) || n < 0 || n > 1<<53 {
			return Blob{}, false
		}
		size = int64(n)
	default:
		return Blob{}, false
	}
	if size < 0 {
		return Blob{}, false
	}
	return Blob{SHA256: sum, Size: size, MediaType: mt}, true
}

// IsValue reports whether v is a blob value.
func IsValue(v any) bool {
	_, ok := FromValue(v)
	return ok
}

// validSum reports whether s is 64 lowercase hex digits: the only names a Store opens,
// so a hash read from a flow value can never become a path outside it.
func validSum(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// HumanSize renders n bytes as B, KiB, MiB or GiB.
func HumanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMG"[exp])
}

// Walk calls fn for every blob value inside v (maps and lists, any depth).
func Walk(v any, fn func(Blob)) {
	if b, ok := FromValue(v); ok {
		fn(b)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			Walk(e, fn)
		}
	case []any:
		for _, e := range x {
			Walk(e, fn)
		}
	}
}
