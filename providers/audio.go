package providers

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TaskTranscribe is speech to text (the transcribe step). Its name is the catalogue's
// task for Workers AI's "Automatic Speech Recognition" models, so validate's wrong-task
// check and the step agree.
const TaskTranscribe Task = "speech-recognition"

// TranscribeRequest asks for the transcript of one piece of audio, small enough for one
// request (see Transcriber.AudioLimit); the transcribe step splits longer recordings.
type TranscribeRequest struct {
	Model     string
	Audio     []byte
	MediaType string // audio/wav, audio/mpeg…
	// Seconds is the piece's duration when the caller knows it (WAV), 0 otherwise; the
	// provider prices the call per audio minute from it or from the answer.
	Seconds  float64
	Language string // ISO 639-1 code, "" for the model's default or detection
	Prompt   string // initial prompt: vocabulary and style for the decoder
	VAD      bool   // voice activity detection: skip silence before decoding
	Gateway  *GatewayOptions
}

// Segment is a stretch of the transcript with its times in seconds from the start of
// the audio.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}

// Word is one recognised word with its times in seconds.
type Word struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Word  string  `json:"word"`
}

// TranscribeResponse is one piece's transcript. Segments and Words are empty when the
// model does not give them; VTT is the model's WebVTT when it returns one.
type TranscribeResponse struct {
	Text     string
	Segments []Segment
	Words    []Word
	VTT      string
	Language string  // detected or requested language, when the model says
	Duration float64 // seconds of audio, when the model says
	Usage    Usage
	Meta     Meta
}

// Transcriber serves TaskTranscribe.
type Transcriber interface {
	Transcribe(ctx context.Context, req TranscribeRequest) (TranscribeResponse, error)
	// AudioLimit is the most audio bytes one request for model may carry; the
	// transcribe step cuts longer audio into pieces under it.
	AudioLimit(model string) int64
}

// End is the time the transcript's last segment or word ends (0 when it has none).
func (r TranscribeResponse) End() float64 {
	end := 0.0
	for _, s := range r.Segments {
		end = max(end, s.End)
	}
	for _, w := range r.Words {
		end = max(end, w.End)
	}
	return end
}

// ParseVTT reads the cues of a WebVTT document as segments, for models that answer with
// WebVTT but no segment list. Lines that are not cues are skipped.
func ParseVTT(vtt string) []Segment {
	var out []Segment
	lines := strings.Split(strings.ReplaceAll(vtt, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		from, to, ok := strings.Cut(lines[i], "-->")
		if !ok {
			continue
		}
		start, ok1 := parseVTTTime(from)
		end, ok2 := parseVTTTime(strings.Fields(to + " ")[0])
		if !ok1 || !ok2 {
			continue
		}
		var text []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			i++
			text = append(text, strings.TrimSpace(lines[i]))
		}
		out = append(out, Segment{Start: start, End: end, Text: strings.Join(text, " ")})
	}
	return out
}

// parseVTTTime reads hh:mm:ss.ttt or mm:ss.ttt.
func parseVTTTime(s string) (float64, bool) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	t := 0.0
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || (i < len(parts)-1 && v != math.Trunc(v)) {
			return 0, false
		}
		t = t*60 + v
	}
	return t, true
}

// FormatVTT renders segments as a WebVTT document.
func FormatVTT(segs []Segment) string {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	for _, s := range segs {
		fmt.Fprintf(&b, "\n%s --> %s\n%s\n", vttTime(s.Start), vttTime(s.End), strings.ReplaceAll(s.Text, "-->", "->"))
	}
	return b.String()
}

func vttTime(sec float64) string {
	ms := int64(math.Round(max(sec, 0) * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// EstimateAudioSeconds guesses the duration of audio from its size, for plan and the
// budget before the bytes are read: WAV at 16 000 bytes a second (8 kHz 16-bit mono, the
// lowest rate speech is commonly recorded at), compressed audio at 8 000 (64 kbit/s).
// Recordings at higher rates are over-estimated, which keeps a budget on the safe side.
func EstimateAudioSeconds(mediaType string, size int64) float64 {
	switch mediaType {
	case "audio/wav", "audio/wave", "audio/x-wav":
		return float64(size) / 16000
	}
	return float64(size) / 8000
}
