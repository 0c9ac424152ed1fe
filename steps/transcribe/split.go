package transcribe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// piece is one request's worth of audio: a complete file (a WAV piece has its own
// header) and where it sits in the recording.
type piece struct {
	index int
	data  []byte
	// offset and seconds place a WAV piece on the original timeline exactly; for other
	// formats they are unknown (-1) and the join uses the durations the model reports.
	offset, seconds float64
}

// source yields the pieces of a recording in order, reading it once from the start;
// next returns io.EOF after the last piece. Only the piece being read is held besides
// those handed out, so memory does not grow with the recording.
type source interface {
	next() (piece, error)
}

// wavFormat is a WAV file's fmt chunk.
type wavFormat struct {
	tag      uint16 // 1 PCM, 3 IEEE float, 0xFFFE extensible (sub-format in raw[24:26])
	channels uint16
	rate     uint32
	byteRate uint32
	block    uint16 // bytes per frame (one sample of every channel)
	bits     uint16
	raw      []byte // the chunk body, copied into each piece's header
}

// maxFmtChunk bounds the fmt chunk (40 bytes for WAVE_FORMAT_EXTENSIBLE).
const maxFmtChunk = 1 << 10

// sampleKind is how the energy of the samples is read: 'i' signed or unsigned integer
// PCM, 'f' IEEE float, 0 anything else (compressed codecs: cut by size only).
func (f wavFormat) sampleKind() byte {
	tag := f.tag
	if tag == 0xFFFE && len(f.raw) >= 26 {
		tag = binary.LittleEndian.Uint16(f.raw[24:26])
	}
	switch {
	case tag == 1 && (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32):
		return 'i'
	case tag == 3 && (f.bits == 32 || f.bits == 64):
		return 'f'
	}
	return 0
}

// readWAVHeader reads the RIFF header and the chunks before "data", returning the
// format and the data chunk's length (-1 when the file says it is unknown, as streamed
// recordings do).
func readWAVHeader(r *bufio.Reader) (wavFormat, int64, error) {
	var f wavFormat
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil || string(head[0:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return f, 0, errors.New("not a WAV file: it does not start with a RIFF/WAVE header")
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return f, 0, errors.New("WAV file has no data chunk")
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > maxFmtChunk {
				return f, 0, fmt.Errorf("WAV fmt chunk has %d bytes; want 16 to %d", size, maxFmtChunk)
			}
			f.raw = make([]byte, size)
			if _, err := io.ReadFull(r, f.raw); err != nil {
				return f, 0, fmt.Errorf("WAV fmt chunk is cut short: %w", err)
			}
			if size%2 == 1 {
				r.ReadByte()
			}
			f.tag = binary.LittleEndian.Uint16(f.raw[0:2])
			f.channels = binary.LittleEndian.Uint16(f.raw[2:4])
			f.rate = binary.LittleEndian.Uint32(f.raw[4:8])
			f.byteRate = binary.LittleEndian.Uint32(f.raw[8:12])
			f.block = binary.LittleEndian.Uint16(f.raw[12:14])
			f.bits = binary.LittleEndian.Uint16(f.raw[14:16])
			if f.channels == 0 || f.rate == 0 || f.byteRate == 0 || f.block == 0 {
				return f, 0, fmt.Errorf("WAV fmt chunk is invalid: %d channels, %d Hz, %d bytes/s, %d bytes per frame", f.channels, f.rate, f.byteRate, f.block)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return f, 0, errors.New("WAV file has its data chunk before the fmt chunk")
			}
			if size == 0xFFFFFFFF || size == 0 {
				return f, -1, nil
			}
			return f, size, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return f, 0, fmt.Errorf("WAV %q chunk is cut short", id)
			}
		}
	}
}

// wavSplitter cuts WAV audio into pieces of at most target data bytes, each at the
// quietest moment of its last stretch (between 70% and 100% of target), so that words
// are rarely cut in two.
type wavSplitter struct {
	r         *bufio.Reader
	f         wavFormat
	remaining int64 // data bytes not read yet, -1 until EOF
	target    int
	carry     []byte // data read past the previous cut
	pos       int64  // data bytes before the next piece
	index     int
	done      bool
}

// newWAVSplitter reads the header; pieces hold at most limit bytes (header included)
// and maxSeconds of audio (0: no bound but limit).
func newWAVSplitter(r *bufio.Reader, limit int64, maxSeconds float64) (*wavSplitter, error) {
	f, n, err := readWAVHeader(r)
	if err != nil {
		return nil, err
	}
	target := limit - int64(wavHeaderLen(f))
	if maxSeconds > 0 {
		target = min(target, int64(maxSeconds*float64(f.byteRate)))
	}
	target -= target % int64(f.block)
	if target < int64(f.block) || target < int64(f.byteRate)/10 {
		return nil, fmt.Errorf("pieces of %d bytes are too short for this WAV's %d bytes per second", target, f.byteRate)
	}
	return &wavSplitter{r: r, f: f, remaining: n, target: int(target)}, nil
}

func wavHeaderLen(f wavFormat) int { return 12 + 8 + len(f.raw) + len(f.raw)%2 + 8 }

// seconds is the duration of n data bytes.
func (s *wavSplitter) seconds(n int64) float64 { return float64(n) / float64(s.f.byteRate) }

func (s *wavSplitter) next() (piece, error) {
	if s.done {
		return piece{}, io.EOF
	}
	hl := wavHeaderLen(s.f)
	buf := make([]byte, hl, hl+s.target)
	buf = append(buf, s.carry...)
	s.carry = nil
	want := s.target - (len(buf) - hl)
	if s.remaining >= 0 {
		want = int(min(int64(want), s.remaining))
	}
	n, err := io.ReadFull(s.r, buf[len(buf):len(buf)+want])
	buf = buf[:len(buf)+n]
	if s.remaining >= 0 {
		s.remaining -= int64(n)
	}
	end := false
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		end = true
	case err != nil:
		return piece{}, fmt.Errorf("reading the audio: %w", err)
	case s.remaining == 0:
		end = true
	}
	data := buf[hl:]
	if end {
		s.done = true
		data = data[:len(data)-len(data)%int(s.f.block)] // a trailing partial frame is not audio
		if len(data) == 0 {
			if s.index == 0 {
				return piece{}, errors.New("the WAV file holds no audio (its data chunk is empty)")
			}
			return piece{}, io.EOF
		}
	} else if len(data) == s.target {
		cut := s.quietestCut(data)
		s.carry = append([]byte(nil), data[cut:]...)
		data = data[:cut]
	}
	p := piece{index: s.index, offset: s.seconds(s.pos), seconds: s.seconds(int64(len(data)))}
	p.data = buf[:hl+len(data)]
	s.putHeader(p.data[:hl], len(data))
	s.index++
	s.pos += int64(len(data))
	return p, nil
}

// putHeader writes a canonical RIFF/WAVE header for n data bytes into h.
func (s *wavSplitter) putHeader(h []byte, n int) {
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(len(h)-8+n))
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	le.PutUint32(h[16:], uint32(len(s.f.raw)))
	copy(h[20:], s.f.raw)
	i := 20 + len(s.f.raw)
	if len(s.f.raw)%2 == 1 {
		h[i] = 0
		i++
	}
	copy(h[i:], "data")
	le.PutUint32(h[i+4:], uint32(n))
}

// quietestCut returns where to end a full piece: the middle of its quietest 100 ms
// window between 70% and 100% of the piece, on a frame boundary. Formats whose samples
// it cannot read are cut at the end.
func (s *wavSplitter) quietestCut(data []byte) int {
	block := int(s.f.block)
	kind := s.f.sampleKind()
	window := max(block, int(s.f.byteRate/10)/block*block)
	lo := len(data) * 7 / 10 / block * block
	if kind == 0 || len(data)-lo < window {
		return len(data)
	}
	best, bestAt := math.Inf(1), len(data)
	for at := lo; at+window <= len(data); at += window {
		if e := energy(data[at:at+window], kind, int(s.f.bits)); e < best {
			best, bestAt = e, at+window/2/block*block
		}
	}
	if bestAt <= 0 {
		return len(data)
	}
	return bestAt
}

// energy is the mean square of the samples in b (all channels), on a 0–1 scale.
func energy(b []byte, kind byte, bits int) float64 {
	size := bits / 8
	le := binary.LittleEndian
	var sum float64
	n := 0
	for i := 0; i+size <= len(b); i += size {
		var x float64
		switch {
		case kind == 'f' && size == 4:
			x = float64(math.Float32frombits(le.Uint32(b[i:])))
		case kind == 'f':
			x = math.Float64frombits(le.Uint64(b[i:]))
		case size == 1:
			x = (float64(b[i]) - 128) / 128
		case size == 2:
			x = float64(int16(le.Uint16(b[i:]))) / (1 << 15)
		case size == 3:
			v := int32(uint32(b[i])<<8|uint32(b[i+1])<<16|uint32(b[i+2])<<24) >> 8
			x = float64(v) / (1 << 23)
		default:
			x = float64(int32(le.Uint32(b[i:]))) / (1 << 31)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		sum += x * x
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// byteSplitter cuts audio it cannot decode into pieces of at most limit bytes. MP3 is
// cut at a frame header, so every piece decodes; other compressed formats keep their
// container header only in the first piece, and the step says so in its notes.
type byteSplitter struct {
	r     *bufio.Reader
	limit int
	mp3   bool
	carry []byte
	index int
	done  bool
}

func (s *byteSplitter) next() (piece, error) {
	if s.done {
		return piece{}, io.EOF
	}
	buf := make([]byte, 0, s.limit)
	buf = append(buf, s.carry...)
	s.carry = nil
	n, err := io.ReadFull(s.r, buf[len(buf):s.limit])
	buf = buf[:len(buf)+n]
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		s.done = true
	case err != nil:
		return piece{}, fmt.Errorf("reading the audio: %w", err)
	default:
		if _, perr := s.r.Peek(1); perr != nil {
			s.done = true
		}
	}
	if len(buf) == 0 {
		return piece{}, io.EOF
	}
	if !s.done && s.mp3 {
		if cut := mp3FrameBefore(buf); cut > 0 {
			s.carry = append([]byte(nil), buf[cut:]...)
			buf = buf[:cut]
		}
	}
	p := piece{index: s.index, data: buf, offset: -1, seconds: -1}
	s.index++
	return p, nil
}

// mp3FrameBefore finds the last MPEG audio frame header in the final 64 KiB of b (sync
// word 0xFFE, a valid version, layer, bitrate and sample rate), or 0.
func mp3FrameBefore(b []byte) int {
	stop := max(1, len(b)-64<<10)
	for i := len(b) - 4; i >= stop; i-- {
		if b[i] != 0xFF || b[i+1]&0xE0 != 0xE0 {
			continue
		}
		version, layer := b[i+1]>>3&3, b[i+1]>>1&3
		bitrate, rate := b[i+2]>>4, b[i+2]>>2&3
		if version != 1 && layer != 0 && bitrate != 0 && bitrate != 15 && rate != 3 {
			return i
		}
	}
	return 0
}

// isWAV reports whether the first bytes are a RIFF/WAVE header.
func isWAV(head []byte) bool {
	return len(head) >= 12 && bytes.Equal(head[0:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WAVE"))
}
