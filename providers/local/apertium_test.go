package local

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/google/go-cmp/cmp"
)

// requireApertium skips when apertium or one of the modes is missing, except under CI=true
// or AIFLOW_REQUIRE_APERTIUM=1 (set by `make test`, which installs the packages first),
// where a missing translator is a failure rather than a silent skip.
func requireApertium(t *testing.T, modes ...string) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") == "true" || os.Getenv("AIFLOW_REQUIRE_APERTIUM") == "1" {
		fail = t.Fatalf
	}
	if _, err := exec.LookPath("apertium"); err != nil {
		fail("apertium is not installed (apt-get install apertium apertium-eng-spa): %v", err)
		return
	}
	out, err := exec.Command("apertium", "-l").Output()
	if err != nil {
		fail("apertium -l: %v", err)
		return
	}
	installed := strings.Fields(string(out))
	for _, m := range modes {
		if !slices.Contains(installed, m) {
			fail("apertium mode %s is not installed (apt-get install apertium-eng-spa); have %v", m, installed)
			return
		}
	}
}

func TestApertiumTranslate(t *testing.T) {
	requireApertium(t, "eng-spa", "spa-eng", "spa-eng_US")
	tests := []struct {
		name, from, to, text, want, mode string
	}{
		{"en-es", "en", "es", "The house is big.", "La casa es grande.", "eng-spa"},
		{"en-es two sentences", "en", "es", "I like coffee and good books. The dog eats the red apple.",
			"Me gusta el café y libros buenos. El perro come la manzana roja.", "eng-spa"},
		{"es-en", "es", "en", "El perro come la manzana roja.", "The dog eats the red apple.", "spa-eng"},
		{"three-letter codes", "spa", "eng", "La casa es grande.", "The house is big.", "spa-eng"},
		{"region variant", "es", "en-US", "La casa es grande.", "The house is big.", "spa-eng_US"},
		{"unknown word unmarked", "en", "es", "I like xyzzyq.", "Me gusta xyzzyq.", "eng-spa"},
		{"markdown kept", "en", "es", "# The house\n\nThe **big** dog eats @home and #tags.",
			"# La casa\n\nEl **perro** grande come @casa y #etiquetas.", "eng-spa"},
		{"lines kept", "en", "es", "The house is big.\n\nThe dog eats.\n", "La casa es grande.\n\nEl perro come.\n", "eng-spa"},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Translate(context.Background(), providers.TranslateRequest{Text: tt.text, From: tt.from, To: tt.to})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, resp.Text); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if resp.Meta["apertium_mode"] != tt.mode {
				t.Errorf("mode %q, want %q", resp.Meta["apertium_mode"], tt.mode)
			}
			if resp.Usage.Requests != 1 || resp.Usage.InputTokens != wordCount(tt.text) {
				t.Errorf("usage %+v", resp.Usage)
			}
		})
	}
}

func TestApertiumMissingPairReal(t *testing.T) {
	requireApertium(t, "eng-spa")
	_, err := newProvider(t, nil).Translate(context.Background(), providers.TranslateRequest{Text: "Hello.", From: "en", To: "ca"})
	for _, want := range []string{"no eng-cat mode", "apt-get install apertium-eng-cat", "installed: eng-spa"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}

// fakeApertium writes a shell script standing in for apertium: `-l` lists modes, a
// translation echoes stdin after a "[mode] " prefix, adding Apertium-style markers to the word
// "secret"; mode eng-zzz sleeps and mode eng-qqq fails.
func fakeApertium(t *testing.T, modes ...string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake apertium is a shell script")
	}
	script := "#!/bin/sh\n" +
		"for a in \"$@\"; do last=$a; done\n" +
		"if [ \"$1\" = -l ]; then printf '  %s\\n' " + strings.Join(modes, " ") + "; exit 0; fi\n" +
		"case \"$last\" in\n" +
		"  *zzz*) sleep 30 & echo $! > \"$FAKE_APERTIUM_PIDFILE\"; wait ;;\n" +
		"  *qqq*) echo 'Error: mode file is damaged' >&2; exit 3 ;;\n" +
		"  *) printf '[%s] ' \"$last\"; sed 's/secret/*secret #gen @bil/' ;;\n" +
		"esac\n"
	path := filepath.Join(t.TempDir(), "apertium")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestApertiumFake(t *testing.T) {
	bin := fakeApertium(t, "eng-spa", "spa-eng", "en-gl", "eng-qqq")
	tests := []struct {
		name, from, to, text string
		want                 string
		wantErr              []string
	}{
		{name: "three-letter mode", from: "en", to: "es", text: "hi", want: "[eng-spa] hi"},
		{name: "two-letter mode", from: "en", to: "gl", text: "hi", want: "[en-gl] hi"},
		{name: "markers stripped", from: "en", to: "es", text: "a secret", want: "[eng-spa] a *secret gen bil"},
		{name: "markers in the input kept", from: "en", to: "es", text: "#go @ann secret", want: "[eng-spa] #go @ann *secret #gen @bil"},
		{name: "same language is identity", from: "en", to: "eng", text: "hi", want: "hi"},
		{name: "empty text skips apertium", from: "en", to: "de", text: " \n", want: " \n"},
		{name: "unknown two-letter code", from: "en", to: "xx", text: "hi", wantErr: []string{`unknown language code "xx"`}},
		{name: "known package", from: "en", to: "ca", text: "hi",
			wantErr: []string{"no eng-cat mode", "install the Debian package apertium-eng-cat", "installed: eng-spa, spa-eng, en-gl, eng-qqq"}},
		{name: "two-letter package name", from: "fr", to: "es", text: "hi", wantErr: []string{"apertium-fr-es"}},
		{name: "unknown package", from: "en", to: "de", text: "hi", wantErr: []string{"no known package", "apertium-eng-deu"}},
		{name: "bad code", from: "english", to: "es", text: "hi", wantErr: []string{`"english" is not ISO 639-1`}},
		{name: "apertium fails", from: "en", to: "qqq", text: "hi", wantErr: []string{"mode file is damaged", "exit status 3"}},
	}
	p := newProvider(t, map[string]any{"apertium": bin})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Translate(context.Background(), providers.TranslateRequest{Text: tt.text, From: tt.from, To: tt.to})
			if len(tt.wantErr) > 0 {
				var pe *providers.Error
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a *providers.Error", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, resp.Text); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestApertiumNotInstalled(t *testing.T) {
	p := newProvider(t, map[string]any{"apertium": filepath.Join(t.TempDir(), "no-such-apertium")})
	_, err := p.Translate(context.Background(), providers.TranslateRequest{Text: "hi", From: "en", To: "es"})
	if err == nil || !strings.Contains(err.Error(), "apt-get install apertium apertium-eng-spa") {
		t.Fatalf("err = %v, want the apt-get hint", err)
	}
}

// TestApertiumCancel checks that a cancelled context stops a running translation and kills
// the child processes of the apertium script too; the fake's child sleeps for 30 s.
func TestApertiumCancel(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	t.Setenv("FAKE_APERTIUM_PIDFILE", pidFile)
	p := newProvider(t, map[string]any{"apertium": fakeApertium(t, "eng-zzz")})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := p.Translate(ctx, providers.TranslateRequest{Text: "hi", From: "en", To: "zzz"})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("translation did not stop after its context ended")
	}
	if runtime.GOOS != "linux" {
		return // processAlive reads /proc
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("fake apertium did not start its child: %v", err)
	}
	pid := strings.TrimSpace(string(b))
	for deadline := time.Now().Add(10 * time.Second); processAlive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("child process %s of apertium survived the cancellation", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid is a running (not zombie) process, using /proc.
func processAlive(pid string) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestParseLanguage(t *testing.T) {
	tests := []struct {
		code string
		want language
	}{
		{"en", language{code3: "eng", given: "en"}},
		{"EN", language{code3: "eng", given: "en"}},
		{"spa", language{code3: "spa", given: "spa"}},
		{"en-US", language{code3: "eng", given: "en", variant: "US"}},
		{"pt_br", language{code3: "por", given: "pt", variant: "BR"}},
		{"sr", language{code3: "hbs", given: "sr"}},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := parseLanguage(tt.code)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestModeNames(t *testing.T) {
	en, _ := parseLanguage("en")
	esUS, _ := parseLanguage("es-US")
	spa, _ := parseLanguage("spa")
	want := []string{"eng-spa_US", "eng-spa", "en-es_US", "en-es"}
	if diff := cmp.Diff(want, modeNames(en, esUS)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"spa-eng"}, modeNames(spa, language{code3: "eng", given: "eng"})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDebianPackageKeysSorted(t *testing.T) {
	for key, pkg := range debianPackages {
		a, b, _ := strings.Cut(key, "-")
		if a >= b {
			t.Errorf("key %q (%s) is not in sorted order", key, pkg)
		}
		if !strings.HasPrefix(pkg, "apertium-") {
			t.Errorf("package %q for %s", pkg, key)
		}
	}
	if got, ok := debianPackage("spa", "eng"); !ok || got != "apertium-eng-spa" {
		t.Errorf("debianPackage(spa, eng) = %q, %v", got, ok)
	}
}

func TestApertiumPairs(t *testing.T) {
	bin := fakeApertium(t, "eng-spa", "spa-eng", "spa-eng_US")
	got, err := ApertiumPairs(context.Background(), bin, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"eng-spa", "spa-eng", "spa-eng_US"}, got); diff != "" {
		t.Errorf("pairs (-want +got):\n%s", diff)
	}
	_, err = ApertiumPairs(context.Background(), filepath.Join(t.TempDir(), "no-such-apertium"), "")
	if !errors.Is(err, ErrApertiumMissing) {
		t.Errorf("missing command: err = %v, want ErrApertiumMissing", err)
	}
}

func TestApertiumPairsReal(t *testing.T) {
	requireApertium(t, "eng-spa")
	got, err := ApertiumPairs(context.Background(), "apertium", "")
	if err != nil || !slices.Contains(got, "eng-spa") {
		t.Errorf("ApertiumPairs = %v, %v; want eng-spa among them", got, err)
	}
}

func TestApertiumPairProblem(t *testing.T) {
	installed := []string{"eng-spa", "spa-eng", "en-gl"}
	tests := []struct {
		name, from, to string
		modes          []string
		want           []string // substrings; none means no problem
	}{
		{"installed", "en", "es", installed, nil},
		{"three-letter codes", "eng", "spa", installed, nil},
		{"two-letter mode", "en", "gl", installed, nil},
		{"same language", "en", "en", nil, nil},
		{"missing with a package", "en", "ca", installed, []string{"no eng-cat mode installed", "apt-get install apertium-eng-cat", "installed: eng-spa, spa-eng, en-gl"}},
		{"missing without a package", "en", "fr", installed, []string{"no eng-fra mode installed", "Debian has no known package", "installed: eng-spa"}},
		{"nothing installed", "en", "es", []string{}, []string{"apt-get install apertium-eng-spa", "no pairs are installed"}},
		{"bad code", "en", "xx", installed, []string{`to: unknown language code "xx"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ApertiumPairProblem(tt.from, tt.to, tt.modes)
			if len(tt.want) == 0 && got != "" {
				t.Errorf("problem = %q, want none", got)
			}
			if len(tt.want) > 0 && got == "" {
				t.Errorf("no problem reported, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problem = %q, want it to contain %q", got, w)
				}
			}
		})
	}
}
