package transcribe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// wavOf builds a WAV file: fmt fields and raw data, with an extra LIST chunk before the
// data so the reader must skip chunks it does not know.
func wavOf(tag, channels uint16, rate uint32, bits uint16, data []byte, dataLen uint32) []byte {
	le := binary.LittleEndian
	block := channels * bits / 8
	var b bytes.Buffer
	b.WriteString("RIFF\x00\x00\x00\x00WAVE")
	b.WriteString("fmt ")
	binary.Write(&b, le, uint32(16))
	for _, v := range []any{tag, channels, rate, rate * uint32(block), block, bits} {
		binary.Write(&b, le, v)
	}
	b.WriteString("LIST\x03\x00\x00\x00abc\x00")
	b.WriteString("data")
	binary.Write(&b, le, dataLen)
	b.Write(data)
	return b.Bytes()
}

// loudWithGap is frames of a loud square wave with silence from gapAt to gapAt+gapLen
// (in frames), encoded at bits per sample.
func loudWithGap(frames, channels, bits, gapAt, gapLen int, float bool) []byte {
	var out []byte
	le := binary.LittleEndian
	for f := 0; f < frames; f++ {
		v := 0.5
		if f%20 < 10 {
			v = -0.5
		}
		if f >= gapAt && f < gapAt+gapLen {
			v = 0
		}
		for c := 0; c < channels; c++ {
			switch {
			case float:
				out = le.AppendUint32(out, math.Float32bits(float32(v)))
			case bits == 8:
				out = append(out, byte(128+v*127))
			case bits == 16:
				out = le.AppendUint16(out, uint16(int16(v*32767)))
			case bits == 24:
				x := int32(v * 8388607)
				out = append(out, byte(x), byte(x>>8), byte(x>>16))
			case bits == 32:
				out = le.AppendUint32(out, uint32(int32(v*2147483647)))
			}
		}
	}
	return out
}

// TestWAVSplitterCutsInSilence: whatever the sample format, a piece that reaches the
// target ends inside the pause in its last 30%, every piece is a WAV under the limit
// with the source's format, and the pieces' data put together is the recording.
func TestWAVSplitterCutsInSilence(t *testing.T) {
	const rate = 8000
	for _, tc := range []struct {
		name     string
		tag      uint16
		channels int
		bits     int
		streamed bool
	}{
		{"pcm8 mono", 1, 1, 8, false},
		{"pcm16 stereo", 1, 2, 16, false},
		{"pcm24 mono", 1, 1, 24, false},
		{"pcm32 mono", 1, 1, 32, false},
		{"float32 stereo", 3, 2, 32, false},
		{"pcm16 streamed (unknown data length)", 1, 1, 16, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := 10 * rate // 10 s
			gapAt := 3*rate + rate/2
			data := loudWithGap(frames, tc.channels, tc.bits, gapAt, rate/4, tc.tag == 3)
			n := uint32(len(data))
			if tc.streamed {
				n = 0xFFFFFFFF
			}
			file := wavOf(tc.tag, uint16(tc.channels), rate, uint16(tc.bits), data, n)
			block := tc.channels * tc.bits / 8
			s, err := newWAVSplitter(bufio.NewReader(bytes.NewReader(file)), 1<<30, 4)
			if err != nil {
				t.Fatal(err)
			}
			var joined []byte
			var pieces []piece
			for {
				p, err := s.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(p.data[:4]) != "RIFF" || string(p.data[8:16]) != "WAVEfmt " || string(p.data[36:40]) != "data" {
					t.Fatalf("piece %d header = %q", p.index, p.data[:44])
				}
				if got := binary.LittleEndian.Uint32(p.data[40:]); int(got) != len(p.data)-44 {
					t.Errorf("piece %d says %d data bytes, has %d", p.index, got, len(p.data)-44)
				}
				if binary.LittleEndian.Uint16(p.data[20:]) != tc.tag || binary.LittleEndian.Uint16(p.data[34:]) != uint16(tc.bits) {
					t.Errorf("piece %d lost the format", p.index)
				}
				joined = append(joined, p.data[44:]...)
				pieces = append(pieces, p)
			}
			if !bytes.Equal(joined, data) {
				t.Fatalf("pieces hold %d bytes, not the recording's %d", len(joined), len(data))
			}
			cut := float64(gapAt) / rate
			if len(pieces) < 3 || pieces[0].seconds < cut || pieces[0].seconds > cut+0.25 {
				t.Errorf("first piece = %v s of %d pieces, want a cut inside the pause at %v–%v s", pieces[0].seconds, len(pieces), cut, cut+0.25)
			}
			for i, p := range pieces {
				if len(p.data)-44 > 4*rate*block || (len(p.data)-44)%block != 0 {
					t.Errorf("piece %d has %d data bytes", i, len(p.data)-44)
				}
				if i > 0 && math.Abs(p.offset-(pieces[i-1].offset+pieces[i-1].seconds)) > 1e-9 {
					t.Errorf("piece %d starts at %v, previous ends at %v", i, p.offset, pieces[i-1].offset+pieces[i-1].seconds)
				}
			}
		})
	}
}

// TestWAVSplitterRefusesBrokenFiles names what is wrong with a file that is not WAV.
func TestWAVSplitterRefusesBrokenFiles(t *testing.T) {
	good := wavOf(1, 1, 8000, 16, make([]byte, 100), 100)
	noChannels := wavOf(1, 0, 8000, 16, make([]byte, 100), 100)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"not riff", []byte("ID3\x03\x00\x00\x00\x00\x00\x00\x00\x00"), "does not start with a RIFF/WAVE header"},
		{"no data", good[:36], "has no data chunk"},
		{"no channels", noChannels, "0 channels"},
		{"empty data", wavOf(1, 1, 8000, 16, nil, 0xFFFFFFFF), "holds no audio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newWAVSplitter(bufio.NewReader(bytes.NewReader(tc.file)), 1<<20, 60)
			if err == nil {
				_, err = s.next()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestByteSplitterCutsMP3AtFrames: MP3 is cut at frame headers so every piece starts
// with one; the pieces together are the file, each under the limit.
func TestByteSplitterCutsMP3AtFrames(t *testing.T) {
	frame := append([]byte{0xFF, 0xFB, 0x90, 0x64}, bytes.Repeat([]byte{0x55}, 413)...) // MPEG-1 layer III, 128 kbit/s, 44.1 kHz
	var file []byte
	for i := 0; i < 100; i++ {
		file = append(file, frame...)
	}
	s := &byteSplitter{r: bufio.NewReader(bytes.NewReader(file)), limit: 5000, mp3: true}
	var joined []byte
	n := 0
	for {
		p, err := s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(p.data) > 5000 || p.data[0] != 0xFF || p.data[1] != 0xFB || p.offset != -1 {
			t.Errorf("piece %d: %d bytes starting % x", p.index, len(p.data), p.data[:2])
		}
		joined = append(joined, p.data...)
		n++
	}
	if !bytes.Equal(joined, file) || n < 9 {
		t.Errorf("%d pieces holding %d bytes, want the %d-byte file", n, len(joined), len(file))
	}
}
