package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transcribe"
)

func init() {
	register("transcribe", "transcribe step on a 200 MB WAV (16 kHz mono, ~109 min) through the workers-ai client, pieces cut at pauses and sent 4 at a time: peak RSS above the baseline (target < 100 MB)", benchTranscribe)
}

// Figures of the transcribe benchmark.
const (
	transcribeBytes     = 200 << 20
	transcribeTargetRSS = 100 << 20
)

func benchTranscribe() error {
	dir, err := os.MkdirTemp("", "aiflow-bench-transcribe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store := blob.NewStore(filepath.Join(dir, "blobs"))
	b, err := putSpeechWAV(store, transcribeBytes)
	if err != nil {
		return err
	}
	// The server stands in for Workers AI and costs nothing to keep: it reads each body
	// to the end and answers one published-shape result.
	var bodyBytes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		bodyBytes.Add(n)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":{"text":"hello world","word_count":2,`+
			`"words":[{"word":"hello","start":0.5,"end":0.9},{"word":"world","start":1.0,"end":1.4}],`+
			`"segments":[{"start":0.5,"end":1.4,"text":" hello world"}],"transcription_info":{"language":"en","duration":60},`+
			`"vtt":"WEBVTT\n\n00:00:00.500 --> 00:00:01.400\nhello world\n"}}`)
	}))
	defer srv.Close()
	p, err := workersai.Open(providers.Config{Name: "bench", Kind: workersai.Kind, Settings: map[string]any{
		"account_id": "0123456789abcdef0123456789abcdef", "api_token": "bench-token", "base_url": srv.URL, "rate_limit": "off",
	}})
	if err != nil {
		return err
	}
	defer p.Close()
	step, _ := transcribe.Kind.New(nil)
	for _, model := range []string{"@cf/openai/whisper-large-v3-turbo", "@cf/openai/whisper"} {
		bodyBytes.Store(0)
		debug.FreeOSMemory() // the previous model's heap is not this one's baseline
		base, err := resetPeakRSS()
		if err != nil {
			return err
		}
		start := time.Now()
		call := &steps.Call{StepID: "listen", Item: -1, Env: blobEnv{store: store},
			Inputs: map[string]any{"audio": b.Value(), "max_seconds": transcribe.DefaultMaxSeconds, "parallel": transcribe.DefaultParallel},
			Model:  &steps.Model{ProviderName: "bench", ProviderKind: workersai.Kind, ID: model, Provider: p}}
		res, err := step.Run(context.Background(), call)
		if err != nil {
			return err
		}
		peak, err := peakRSS()
		if err != nil {
			return err
		}
		above := peak - base
		fmt.Printf("   %s: %s in %v pieces, %.0f MB sent, %s; peak RSS %d MB above a %d MB baseline (target < %d MB)\n",
			model, blob.HumanSize(b.Size), res.Output["pieces"], float64(bodyBytes.Load())/(1<<20), time.Since(start).Round(time.Millisecond),
			above>>20, base>>20, transcribeTargetRSS>>20)
		if above >= transcribeTargetRSS {
			return fmt.Errorf("%s: peak RSS %d MB above the baseline, target < %d MB", model, above>>20, transcribeTargetRSS>>20)
		}
	}
	return nil
}

// blobEnv gives the step a blob store and nothing else.
type blobEnv struct {
	steps.Env
	store *blob.Store
}

func (e blobEnv) Blobs() *blob.Store { return e.store }

// putSpeechWAV streams a 16 kHz mono 16-bit WAV of size bytes into the store: bursts of
// noise ("speech") of 0.5 to 3 s between pauses of 0.2 to 0.8 s.
func putSpeechWAV(store *blob.Store, size int64) (blob.Blob, error) {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		data := size - 44
		le := binary.LittleEndian
		var h [44]byte
		copy(h[:], "RIFF")
		le.PutUint32(h[4:], uint32(36+data))
		copy(h[8:], "WAVEfmt ")
		le.PutUint32(h[16:], 16)
		le.PutUint16(h[20:], 1)
		le.PutUint16(h[22:], 1)
		le.PutUint32(h[24:], 16000)
		le.PutUint32(h[28:], 32000)
		le.PutUint16(h[32:], 2)
		le.PutUint16(h[34:], 16)
		copy(h[36:], "data")
		le.PutUint32(h[40:], uint32(data))
		w.Write(h[:])
		rng := rand.New(rand.NewPCG(1, 2))
		var s [2]byte
		for written := int64(0); written < data; {
			talk := 8000 + rng.IntN(40000)
			pause := 3200 + rng.IntN(9600)
			for i := 0; i < talk+pause && written < data; i++ {
				v := int16(0)
				if i < talk {
					v = int16(rng.IntN(16000) - 8000)
				}
				le.PutUint16(s[:], uint16(v))
				w.Write(s[:])
				written += 2
			}
		}
		pw.CloseWithError(w.Flush())
	}()
	return store.Put(pr, "talk.wav", "")
}

// resetPeakRSS resets the process's high-water mark (Linux: clear_refs 5) and returns
// the resident set now, the baseline the peak is measured against.
func resetPeakRSS() (int64, error) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, fmt.Errorf("resetting peak RSS: %w", err)
	}
	return procStatus("VmRSS:")
}

// peakRSS is the resident high-water mark since the last reset.
func peakRSS() (int64, error) { return procStatus("VmHWM:") }

func procStatus(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no %s", field)
}
