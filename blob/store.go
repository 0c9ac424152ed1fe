package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MaxSize bounds one blob (4 GiB): a stream that goes on past it is refused instead of
// filling the disk.
const MaxSize int64 = 4 << 30

// ErrMissing is the cause of opening a blob whose bytes are not in the store (a state
// directory that was copied without its blobs/ folder, or a value naming a hash that
// was never stored).
var ErrMissing = errors.New("blob bytes are not in the state directory")

// ErrCorrupt is the cause of reading a blob whose bytes no longer hash to its name.
var ErrCorrupt = errors.New("blob bytes do not match their sha256")

// Store keeps blob bytes under one directory, named by their SHA-256. Content is written
// to a temporary file first and renamed into place once complete and synced, so a kill
// at any moment leaves either no blob or a whole one. A Store is safe for concurrent use
// by several goroutines and processes: two writers of the same content rename the same
// bytes onto the same name.
type Store struct {
	dir string // "" hashes without keeping anything
}

// NewStore returns the store in dir (created on first write). An empty dir gives a store
// that only measures: Put hashes and sniffs, keeps nothing, and Open fails; plan and
// validate use it, since they must not write state.
func NewStore(dir string) *Store { return &Store{dir: dir} }

// Dir is the store's directory ("" for a measuring store).
func (s *Store) Dir() string { return s.dir }

// Path is where b's bytes live (whether or not they are there).
func (s *Store) Path(b Blob) string {
	if s.dir == "" || !validSum(b.SHA256) {
		return ""
	}
	return filepath.Join(s.dir, "sha256", b.SHA256[:2], b.SHA256)
}

// Put streams r into the store and returns the blob. The media type is mediaType when
// given, else detected from the first bytes and name. Memory use does not grow with the
// size of r.
func (s *Store) Put(r io.Reader, name, mediaType string) (Blob, error) {
	var tmp *os.File
	var w io.Writer = io.Discard
	if s.dir != "" {
		if err := os.MkdirAll(filepath.Join(s.dir, "tmp"), 0o755); err != nil {
			return Blob{}, fmt.Errorf("blob store: %w", err)
		}
		f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
		if err != nil {
			return Blob{}, fmt.Errorf("blob store: %w", err)
		}
		tmp, w = f, f
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
	}
	h := sha256.New()
	head := &headBuf{}
	n, err := io.Copy(io.MultiWriter(w, h, head), io.LimitReader(r, MaxSize+1))
	if err != nil {
		return Blob{}, fmt.Errorf("storing %s: %w", displayName(name), err)
	}
	if n > MaxSize {
		return Blob{}, fmt.Errorf("storing %s: more than %d bytes (4 GiB), the largest blob aiflow keeps", displayName(name), MaxSize)
	}
	if mediaType == "" {
		mediaType = Detect(head.b, name)
	}
	b := Blob{SHA256: sumOf(h), Size: n, MediaType: Base(mediaType)}
	if tmp == nil {
		return b, nil
	}
	if err := s.commit(tmp, b); err != nil {
		return Blob{}, err
	}
	tmp = nil
	return b, nil
}

// PutBytes stores data; see Put.
func (s *Store) PutBytes(data []byte, name, mediaType string) (Blob, error) {
	return s.Put(bytes.NewReader(data), name, mediaType)
}

// commit syncs tmp and renames it to b's path.
func (s *Store) commit(tmp *os.File, b Blob) error {
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	dst := s.Path(b)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// Open returns a reader of b's bytes that checks their hash as it reaches the end: a
// reader that returned io.EOF returned exactly b's content, and one whose bytes changed
// on disk fails with ErrCorrupt instead.
func (s *Store) Open(b Blob) (io.ReadCloser, error) {
	p := s.Path(b)
	if p == "" {
		return nil, fmt.Errorf("blob sha256:%s: %w", short(b.SHA256), ErrMissing)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob sha256:%s (%s): %w", short(b.SHA256), b, ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("blob sha256:%s: %w", short(b.SHA256), err)
	}
	return &checked{f: f, h: sha256.New(), want: b}, nil
}

// OpenFile returns b's file, positioned at the start, after checking its bytes against
// b's hash in one streaming pass: for clients that need a seekable body (an S3 upload
// signs the payload, then sends it).
func (s *Store) OpenFile(b Blob) (*os.File, error) {
	r, err := s.Open(b)
	if err != nil {
		return nil, err
	}
	c := r.(*checked)
	if _, err := io.Copy(io.Discard, c); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		c.Close()
		return nil, err
	}
	return c.f, nil
}

// ReadAll reads b whole, refusing blobs larger than limit bytes (name says what for in
// the error), for APIs that take the content in one request body.
func (s *Store) ReadAll(b Blob, limit int64, what string) ([]byte, error) {
	if b.Size > limit {
		return nil, fmt.Errorf("%s: the blob has %s; the limit is %s", what, HumanSize(b.Size), HumanSize(limit))
	}
	r, err := s.Open(b)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit+1))
}

// Has reports whether b's bytes are in the store.
func (s *Store) Has(b Blob) bool {
	p := s.Path(b)
	if p == "" {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Size() == b.Size
}

// Sweep deletes the stored blobs that keep does not report as referenced and that were
// written before cutoff (a blob written since may belong to a run still going, whose
// step has not been recorded yet), and the leftovers of interrupted writes older than
// cutoff. With dryRun it only counts. It returns how many blobs and how many bytes.
func (s *Store) Sweep(keep func(sum string) bool, cutoff time.Time, dryRun bool) (n int, size int64, err error) {
	if s.dir == "" {
		return 0, 0, nil
	}
	err = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		isTmp := filepath.Base(filepath.Dir(p)) == "tmp"
		if !isTmp && (!validSum(d.Name()) || keep(d.Name())) {
			return nil
		}
		if !isTmp {
			n++
			size += info.Size()
		}
		if dryRun {
			return nil
		}
		return os.Remove(p)
	})
	if err != nil {
		return n, size, fmt.Errorf("sweeping blobs: %w", err)
	}
	return n, size, nil
}

// checked hashes what it reads and compares at EOF.
type checked struct {
	f    *os.File
	h    hash.Hash
	n    int64
	want Blob
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF && (c.n != c.want.Size || sumOf(c.h) != c.want.SHA256) {
		return n, fmt.Errorf("blob sha256:%s at %s: %w", short(c.want.SHA256), c.f.Name(), ErrCorrupt)
	}
	return n, err
}

func (c *checked) Close() error { return c.f.Close() }

// headBuf keeps the first SniffLen bytes written to it.
type headBuf struct{ b []byte }

func (h *headBuf) Write(p []byte) (int, error) {
	if room := SniffLen - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func sumOf(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func displayName(name string) string {
	if name == "" {
		return "blob"
	}
	return name
}
