// Package transcribe implements the "transcribe" step kind: speech to text with a
// Whisper model (Workers AI's whisper, whisper-tiny-en and whisper-large-v3-turbo, or
// OpenAI's audio transcriptions). Audio longer than one request takes is cut into
// pieces (WAV at silences near a target length, other formats by size), the pieces are
// transcribed in parallel through the provider's rate limiter, and their transcripts are
// joined in order with timestamps moved onto the original timeline. The audio is read
// from the blob store as a stream: memory holds a few pieces, not the recording.
package transcribe

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Defaults and bounds of the inputs.
const (
	DefaultParallel = 4
	MaxParallel     = 16
	// DefaultMaxSeconds is the longest piece by default: long enough that few sentences
	// are cut, short enough that a failed piece costs little to retry.
	DefaultMaxSeconds = 600
)

// Kind describes the transcribe step to the registry.
var Kind = steps.Kind{
	Name:    "transcribe",
	Summary: "Transcribe speech in an audio blob with a Whisper model; long recordings are split and joined.",
	Task:    providers.TaskTranscribe,
	Inputs: []steps.Field{
		{Name: "audio", Type: steps.Blob, Required: true, Doc: "The recording, e.g. ${ blob(\"talk.wav\") } (WAV, MP3, FLAC, OGG, M4A, WebM)."},
		{Name: "language", Type: steps.String, Doc: "Language of the speech as an ISO 639-1 code, e.g. en (whisper-large-v3-turbo and OpenAI; detected when absent)."},
		{Name: "prompt", Type: steps.String, Doc: "Initial prompt: names and vocabulary the speech uses (whisper-large-v3-turbo's initial_prompt, OpenAI's prompt)."},
		{Name: "vad", Type: steps.Bool, Doc: "Skip silence with voice activity detection before decoding (whisper-large-v3-turbo's vad_filter)."},
		{Name: "max_seconds", Type: steps.Int, Default: DefaultMaxSeconds, Doc: "Longest piece of WAV audio sent in one request, in seconds; longer audio is cut at the quietest moment of each piece's last 30%. Pieces are also kept under the model's request size."},
		{Name: "parallel", Type: steps.Int, Default: DefaultParallel, Doc: fmt.Sprintf("Pieces transcribed at once (1 to %d), within the provider's rate limit.", MaxParallel)},
	},
	Outputs: []steps.Field{
		{Name: "text", Type: steps.String, Doc: "The transcript."},
		{Name: "segments", Type: steps.List, Doc: "[{start, end, text}], times in seconds from the start of the recording."},
		{Name: "words", Type: steps.List, Doc: "[{start, end, word}] where the model gives word times, else empty."},
		{Name: "vtt", Type: steps.String, Doc: "The segments as WebVTT subtitles."},
		{Name: "language", Type: steps.String, Doc: "The language the model reports, or the one asked for."},
		{Name: "duration", Type: steps.Number, Doc: "Seconds of audio (exact for WAV; else as the model reports)."},
		{Name: "pieces", Type: steps.Int, Doc: "How many requests the audio was split into."},
		{Name: "notes", Type: steps.Strings, Doc: "What the split could not do exactly, e.g. audio other than WAV cut by size with approximate timestamps."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: true,
	New:           newStep,
}

// transcriber is a configured transcribe step: the model options it sets (check.go).
type transcriber struct {
	options []option
}

var _ steps.Step = (*transcriber)(nil)

// runOptions are the validated inputs besides the audio.
type runOptions struct {
	language, prompt string
	vad              bool
	maxSeconds       int
	parallel         int
}

func readOptions(in map[string]any) (runOptions, error) {
	o := runOptions{maxSeconds: DefaultMaxSeconds, parallel: DefaultParallel}
	o.language, _ = in["language"].(string)
	o.prompt, _ = in["prompt"].(string)
	o.vad, _ = in["vad"].(bool)
	if n, ok := in["max_seconds"].(int); ok {
		o.maxSeconds = n
	}
	if n, ok := in["parallel"].(int); ok {
		o.parallel = n
	}
	switch {
	case o.maxSeconds < 1:
		return o, fmt.Errorf("with.max_seconds: want a positive number of seconds, got %d", o.maxSeconds)
	case o.parallel < 1 || o.parallel > MaxParallel:
		return o, fmt.Errorf("with.parallel: want 1 to %d, got %d", MaxParallel, o.parallel)
	}
	return o, nil
}

// audioInput checks that the audio input is a non-empty audio blob.
func audioInput(in map[string]any) (blob.Blob, error) {
	v := in["audio"]
	b, ok := blob.FromValue(v)
	if !ok {
		return b, fmt.Errorf("with.audio: expected an audio blob such as ${ blob(\"talk.wav\") }, got %s", spec.DescribeValue(v))
	}
	if !IsAudio(b.MediaType) {
		return b, fmt.Errorf("with.audio: expected audio (WAV, MP3, FLAC, OGG, M4A, WebM), got %s (%s)", b.MediaType, blob.HumanSize(b.Size))
	}
	if b.Size == 0 {
		return b, fmt.Errorf("with.audio: the audio is empty (0 bytes)")
	}
	return b, nil
}

// IsAudio reports whether a media type is audio a Whisper model can take: audio/*, and
// the MP4 and WebM containers that sniffing calls video.
func IsAudio(mediaType string) bool {
	mt := blob.Base(mediaType)
	return blob.Kind(mt) == "audio" || mt == "video/mp4" || mt == "video/webm" || mt == "application/ogg"
}

// result is one piece's transcript.
type result struct {
	p    piece
	resp providers.TranscribeResponse
	err  error
}

// Run splits the audio, transcribes the pieces in parallel and joins them.
func (*transcriber) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	t, err := capability.Of[providers.Transcriber](call.Model, providers.TaskTranscribe)
	if err != nil {
		return steps.Result{}, err
	}
	b, err := audioInput(call.Inputs)
	if err != nil {
		return steps.Result{}, err
	}
	opts, err := readOptions(call.Inputs)
	if err != nil {
		return steps.Result{}, err
	}
	rc, err := steps.Blobs(call.Env).Open(b)
	if err != nil {
		return steps.Result{}, fmt.Errorf("with.audio: %w", err)
	}
	defer rc.Close()
	src, notes, err := newSource(bufio.NewReaderSize(rc, 64<<10), b, t.AudioLimit(call.Model.ID), opts)
	if err != nil {
		return steps.Result{}, fmt.Errorf("with.audio: %w", err)
	}
	results, err := transcribeAll(ctx, t, call, src, b.MediaType, opts)
	var usage providers.Usage
	var meta providers.Meta
	for _, r := range results {
		usage = usage.Add(r.resp.Usage)
		if r.resp.Meta != nil {
			meta = r.resp.Meta
		}
	}
	if err != nil {
		return steps.Result{Usage: usage}, fmt.Errorf("transcribing with %s: %w", call.Model.Ref(), err)
	}
	out := join(results, opts.language)
	all := []any{}
	for _, n := range append(notes, out["notes"].([]string)...) {
		all = append(all, n)
	}
	out["notes"] = all
	return steps.Result{Output: out, Usage: usage, Meta: meta, ModelRef: call.Model.Ref()}, nil
}

// newSource picks the splitter for the audio's format.
func newSource(r *bufio.Reader, b blob.Blob, limit int64, opts runOptions) (source, []string, error) {
	head, _ := r.Peek(12)
	if isWAV(head) {
		s, err := newWAVSplitter(r, limit, float64(opts.maxSeconds))
		return s, []string{}, err
	}
	var notes []string
	mp3 := blob.Base(b.MediaType) == "audio/mpeg"
	if b.Size > limit {
		how := "at MP3 frame boundaries"
		if !mp3 {
			how = "by size; only the first piece keeps the file's container header, so later pieces may not decode — convert to WAV (e.g. ffmpeg -i in.m4a -ac 1 -ar 16000 out.wav) for exact splits"
		}
		notes = append(notes, fmt.Sprintf("%s audio of %s was cut into pieces of at most %s %s; timestamps after the first piece follow the durations the model reports and are approximate",
			b.MediaType, blob.HumanSize(b.Size), blob.HumanSize(limit), how))
	}
	return &byteSplitter{r: r, limit: int(limit), mp3: mp3}, append([]string{}, notes...), nil
}

// transcribeAll reads pieces from src and transcribes up to opts.parallel of them at
// once; a piece is read only when a slot is free, so at most parallel+1 pieces are in
// memory. The first failure cancels the pieces still running. Results are in order.
func transcribeAll(ctx context.Context, t providers.Transcriber, call *steps.Call, src source, mediaType string, opts runOptions) ([]result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		results  []result
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	sem := make(chan struct{}, opts.parallel)
loop:
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		p, err := src.next()
		if err != nil {
			<-sem
			if err != io.EOF {
				fail(err)
			}
			break
		}
		mu.Lock()
		results = append(results, result{p: p})
		mu.Unlock()
		wg.Add(1)
		go func(p piece) {
			defer wg.Done()
			defer func() { <-sem }()
			req := providers.TranscribeRequest{Model: call.Model.ID, Audio: p.data, MediaType: mediaType, Language: opts.language,
				Prompt: opts.prompt, VAD: opts.vad, Gateway: call.Model.Gateway}
			if p.seconds > 0 {
				req.Seconds = p.seconds
			}
			resp, err := transcribePiece(ctx, t, call, req)
			mu.Lock()
			results[p.index].resp, results[p.index].err = resp, err
			results[p.index].p.data = nil // done with the bytes
			mu.Unlock()
			if err != nil {
				fail(fmt.Errorf("piece %d%s: %w", p.index+1, span(p), err))
			}
		}(p)
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return results, firstErr
}

// transcribePiece transcribes one piece, or takes its transcript from the parts of the
// call already answered (steps.PartCache): a retry, resume or re-run after a failure at
// piece k pays only for the pieces from k on. A kept transcript costs nothing again, so
// its usage is zero.
func transcribePiece(ctx context.Context, t providers.Transcriber, call *steps.Call, req providers.TranscribeRequest) (providers.TranscribeResponse, error) {
	pc, _ := call.Env.(steps.PartCache)
	var key string
	if pc != nil {
		key = pieceKey(call, req)
		if b, ok := pc.PartGet(ctx, key); ok {
			var kept providers.TranscribeResponse
			if json.Unmarshal(b, &kept) == nil {
				kept.Usage = providers.Usage{}
				return kept, nil
			}
		}
	}
	resp, err := t.Transcribe(ctx, req)
	if err == nil && pc != nil {
		if b, merr := json.Marshal(resp); merr == nil {
			pc.PartPut(ctx, key, b)
		}
	}
	return resp, err
}

// pieceKey is everything a piece's transcript depends on: the model, the request's
// options and the audio bytes (by hash).
func pieceKey(call *steps.Call, req providers.TranscribeRequest) string {
	audio := sha256.Sum256(req.Audio)
	b, _ := json.Marshal(map[string]any{
		"provider": call.Model.ProviderKind, "model": req.Model, "media_type": req.MediaType,
		"language": req.Language, "prompt": req.Prompt, "vad": req.VAD, "seconds": req.Seconds,
		"audio_sha256": hex.EncodeToString(audio[:]),
	})
	return string(b)
}

// span renders a WAV piece's place in the recording, " (00:10:00–00:19:58)".
func span(p piece) string {
	if p.offset < 0 {
		return ""
	}
	return fmt.Sprintf(" (%s–%s)", clock(p.offset), clock(p.offset+p.seconds))
}

func clock(sec float64) string {
	s := int64(sec)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// join puts the pieces' transcripts on one timeline: a WAV piece starts where it was cut
// from, any other where the previous piece's reported audio ended.
func join(results []result, language string) map[string]any {
	var texts []string
	segs := []providers.Segment{}
	words := []any{}
	notes := []string{}
	offset := 0.0
	for i, r := range results {
		start := r.p.offset
		if start < 0 {
			start = offset
		}
		if t := strings.TrimSpace(r.resp.Text); t != "" {
			texts = append(texts, t)
		}
		pieceSegs := r.resp.Segments
		if len(pieceSegs) == 0 && strings.TrimSpace(r.resp.Text) != "" {
			end := r.resp.End()
			if r.p.seconds > 0 {
				end = r.p.seconds
			}
			pieceSegs = []providers.Segment{{Start: 0, End: end, Text: strings.TrimSpace(r.resp.Text)}}
		}
		for _, s := range pieceSegs {
			segs = append(segs, providers.Segment{Start: ms(start + s.Start), End: ms(start + s.End), Text: s.Text})
		}
		for _, w := range r.resp.Words {
			words = append(words, map[string]any{"start": ms(start + w.Start), "end": ms(start + w.End), "word": w.Word})
		}
		if r.resp.Language != "" {
			language = r.resp.Language
		}
		dur := r.p.seconds
		if dur <= 0 {
			dur = r.resp.Duration
		}
		if dur <= 0 {
			dur = r.resp.End()
			if i < len(results)-1 {
				notes = append(notes, fmt.Sprintf("piece %d reported no duration; the next piece starts at its last timestamp", i+1))
			}
		}
		offset = start + dur
	}
	segList := make([]any, len(segs))
	for i, s := range segs {
		segList[i] = map[string]any{"start": s.Start, "end": s.End, "text": s.Text}
	}
	return map[string]any{
		"text": strings.Join(texts, " "), "segments": segList, "words": words, "vtt": providers.FormatVTT(segs),
		"language": language, "duration": ms(offset), "pieces": len(results), "notes": notes,
	}
}

// ms rounds seconds to the millisecond, so shifted times do not carry float noise.
func ms(sec float64) float64 { return math.Round(sec*1000) / 1000 }
