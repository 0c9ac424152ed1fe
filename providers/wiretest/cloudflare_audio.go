package wiretest

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
)

// Speech recognition models answer the published shapes (cloudflare-docs
// src/content/workers-ai-models/whisper.json, whisper-tiny-en.json,
// whisper-large-v3-turbo.json): whisper and whisper-tiny-en take {"audio": [0–255
// numbers]} and answer {text, word_count, words: [{word, start, end}], vtt};
// whisper-large-v3-turbo takes {"audio": base64, language, initial_prompt, vad_filter,
// task, prefix} and answers {transcription_info, text, word_count, segments, vtt}.
//
// The emulator "hears" 16-bit PCM WAV: every stretch of sound between silences (100 ms
// windows) is one word, named after its pitch to the nearest 100 Hz (the median over its windows), "tone400" for a
// 400 Hz sine. A test
// builds its recording with ToneWAV and knows the transcript and every word's time.
// Other audio is transcribed as one word saying its size.

// Tone is one sound of a ToneWAV recording: a sine of Hz for Seconds, after Gap seconds
// of silence.
type Tone struct {
	Gap, Seconds float64
	Hz           int
}

// ToneWAV renders tones as a mono 16-bit PCM WAV at rate samples per second, with
// trailing seconds of silence.
func ToneWAV(rate int, tones []Tone, trailing float64) []byte {
	var samples []int16
	for _, t := range tones {
		samples = append(samples, make([]int16, int(t.Gap*float64(rate)))...)
		n := int(t.Seconds * float64(rate))
		for i := 0; i < n; i++ {
			samples = append(samples, int16(12000*math.Sin(2*math.Pi*float64(t.Hz)*float64(i)/float64(rate))))
		}
	}
	samples = append(samples, make([]int16, int(trailing*float64(rate)))...)
	return PCMWAV(rate, samples)
}

// PCMWAV wraps mono 16-bit samples in a canonical WAV header.
func PCMWAV(rate int, samples []int16) []byte {
	b := make([]byte, 44+2*len(samples))
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+2*len(samples)))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1)
	le.PutUint16(b[22:], 1)
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(rate*2))
	le.PutUint16(b[32:], 2)
	le.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(2*len(samples)))
	for i, s := range samples {
		le.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}

// CFWord is a word the emulator heard.
type CFWord struct {
	Word       string
	Start, End float64
}

// HearWAV is what the emulator transcribes from a 16-bit PCM WAV: one word per stretch
// of sound, with its times; duration is the audio's length.
func HearWAV(b []byte) (words []CFWord, duration float64, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file")
	}
	le := binary.LittleEndian
	var channels, bits int
	var rate int
	var data []byte
	for i := 12; i+8 <= len(b); {
		id, size := string(b[i:i+4]), int(le.Uint32(b[i+4:]))
		body := b[i+8 : min(len(b), i+8+size)]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, errors.New("short fmt chunk")
			}
			channels, rate, bits = int(le.Uint16(body[2:])), int(le.Uint32(body[4:])), int(le.Uint16(body[14:]))
		case "data":
			data = body
		}
		i += 8 + size + size%2
	}
	if bits != 16 || channels < 1 || rate < 1 || data == nil {
		return nil, 0, fmt.Errorf("the emulator hears 16-bit PCM WAV only (got %d bits, %d channels)", bits, channels)
	}
	frames := len(data) / (2 * channels)
	win := rate / 10
	var cur *CFWord
	var pitches []float64 // per window of the current word
	flush := func(end float64) {
		if cur != nil {
			sort.Float64s(pitches)
			cur.Word = fmt.Sprintf("tone%d", int(math.Round(pitches[len(pitches)/2]/100))*100)
			cur.End = end
			words = append(words, *cur)
			cur, pitches = nil, nil
		}
	}
	for w := 0; w+win <= frames; w += win {
		var sum float64
		zc := 0
		prev := int16(0)
		for f := w; f < w+win; f++ {
			s := int16(le.Uint16(data[2*channels*f:]))
			sum += float64(s) * float64(s)
			if f > w && (s >= 0) != (prev >= 0) {
				zc++
			}
			prev = s
		}
		t := float64(w) / float64(rate)
		if math.Sqrt(sum/float64(win)) > 1000 {
			if cur == nil {
				cur = &CFWord{Start: t}
			}
			pitches = append(pitches, float64(zc)/2/(float64(win)/float64(rate)))
		} else {
			flush(t)
		}
	}
	duration = float64(frames) / float64(rate)
	flush(float64(frames/win*win) / float64(rate))
	return words, duration, nil
}

// transcribe serves the Whisper models.
func (cf *Cloudflare) transcribe(w http.ResponseWriter, c *cfCall, run CFRun, turbo bool) {
	var audio []byte
	switch a := run.Input["audio"].(type) {
	case []any:
		if bad := cfByteArray(run.Input, "audio"); bad != "" || turbo {
			cfBadInput(w, "Type mismatch of '/audio', 'string' not in 'array'")
			return
		}
		audio = make([]byte, len(a))
		for i, x := range a {
			audio[i] = byte(x.(float64))
		}
	case string:
		if !turbo {
			cfBadInput(w, "Type mismatch of '/audio', 'array' not in 'string'")
			return
		}
		var err error
		if audio, err = base64.StdEncoding.DecodeString(a); err != nil {
			cfBadInput(w, "audio is not valid base64")
			return
		}
	default:
		cfBadInput(w, "required properties at '/' are 'audio'")
		return
	}
	if len(audio) == 0 {
		cfBadInput(w, "audio is empty")
		return
	}
	if !cf.answer(c) {
		return
	}
	words, duration, err := HearWAV(audio)
	if err != nil {
		words = []CFWord{{Word: fmt.Sprintf("audio%dbytes", len(audio)), Start: 0, End: 1}}
		duration = float64(len(audio)) / 16000
	}
	cf.audioSeconds.Add(int64(math.Round(duration * 1000)))
	var text []string
	var wordList []map[string]any
	var vtt strings.Builder
	vtt.WriteString("WEBVTT\n")
	for _, wd := range words {
		text = append(text, wd.Word)
		wordList = append(wordList, map[string]any{"word": wd.Word, "start": wd.Start, "end": wd.End})
		fmt.Fprintf(&vtt, "\n%s --> %s\n%s\n", cfVTTTime(wd.Start), cfVTTTime(wd.End), wd.Word)
	}
	cfOK(w, cf.result(run, func() any {
		out := map[string]any{"text": strings.Join(text, " "), "word_count": len(words), "vtt": vtt.String()}
		if !turbo {
			out["words"] = wordList
			return out
		}
		lang, _ := run.Input["language"].(string)
		if lang == "" {
			lang = "en"
		}
		segs := []map[string]any{}
		for i, wd := range words {
			segs = append(segs, map[string]any{"start": wd.Start, "end": wd.End, "text": " " + wd.Word, "temperature": 0.0,
				"avg_logprob": -0.2, "compression_ratio": 1.1, "no_speech_prob": 0.01, "words": wordList[i : i+1]})
		}
		out["segments"] = segs
		out["transcription_info"] = map[string]any{"language": lang, "language_probability": 0.98, "duration": duration, "duration_after_vad": duration}
		return out
	}))
}

// AudioSeconds is how many seconds of audio the emulator transcribed (paid for).
func (cf *Cloudflare) AudioSeconds() float64 { return float64(cf.audioSeconds.Load()) / 1000 }

func cfVTTTime(sec float64) string {
	ms := int64(math.Round(sec * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
