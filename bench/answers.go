package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/local"
	"github.com/aiflow/aiflow/spec"
)

// The answers suite measures the offline quickstart's extractive answers. It runs
// examples/flows/quickstart.yaml as shipped (chunk, embed, index, search, summarize) once
// per labelled question of bench/testdata/answers.json and compares the answer, sentence by
// sentence, with the sentences the labels say answer the question.

func init() {
	register("answers", "quickstart answers on the labelled questions (bench/testdata/answers.json): answer-sentence precision and recall, abstention on unanswerable questions", benchAnswers)
}

// Abstention is the quickstart's answer when no document answers the question.
const Abstention = local.Abstention

// labelledQuestion is one entry of the labelled set; no Answers means unanswerable.
type labelledQuestion struct {
	Question string   `json:"question"`
	Doc      string   `json:"doc"`
	Answers  []string `json:"answers"`
	Set      string   `json:"set"`
}

// Halves of the labelled set: thresholds are tuned on tuneSet, heldOutSet only checks them.
const (
	tuneSet    = "tune"
	heldOutSet = "held-out"
)

// answerScores accumulates the figures of one half (or all) of the labelled set.
type answerScores struct {
	answerable, unanswerable int
	returned, correct        int // sentences returned for answerable questions, and how many are labelled answers
	labelled, found          int // labelled answer sentences, and how many were returned
	hit                      int // answerable questions with at least one labelled sentence returned
	falseAbstain, abstain    int // abstentions on answerable and on unanswerable questions
}

// Precision is the share of sentences returned for answerable questions that are labelled
// answer sentences.
func (s answerScores) Precision() float64 { return ratio(s.correct, s.returned) }

// Recall is the share of labelled answer sentences that were returned (an answer holds at
// most the quickstart's max_length sentences, so it is capped below 1).
func (s answerScores) Recall() float64 { return ratio(s.found, s.labelled) }

// HitRate is the share of answerable questions whose answer holds a labelled sentence.
func (s answerScores) HitRate() float64 { return ratio(s.hit, s.answerable) }

// AbstentionRate is the share of unanswerable questions answered with Abstention.
func (s answerScores) AbstentionRate() float64 { return ratio(s.abstain, s.unanswerable) }

// FalseAbstentionRate is the share of answerable questions answered with Abstention.
func (s answerScores) FalseAbstentionRate() float64 { return ratio(s.falseAbstain, s.answerable) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// add scores one answer to q.
func (s *answerScores) add(q labelledQuestion, answer string) {
	abstained := strings.TrimSpace(answer) == Abstention
	if len(q.Answers) == 0 {
		s.unanswerable++
		if abstained {
			s.abstain++
		}
		return
	}
	s.answerable++
	s.labelled += len(q.Answers)
	if abstained {
		s.falseAbstain++
		return
	}
	got := local.SplitSentences(answer)
	s.returned += len(got)
	hit := false
	for _, g := range got {
		if slices.Contains(q.Answers, g) {
			s.correct++
			hit = true
		}
	}
	for _, a := range q.Answers {
		if slices.Contains(got, a) {
			s.found++
		}
	}
	if hit {
		s.hit++
	}
}

// answerOutcome is one question's answer, for the detailed listing.
type answerOutcome struct {
	q               labelledQuestion
	answer, sources string
}

// answerReport holds the scores of each half and of the whole set.
type answerReport struct {
	bySet    map[string]*answerScores
	all      answerScores
	outcomes []answerOutcome
}

func benchAnswers() error {
	r, err := evaluateAnswers(".")
	if err != nil {
		return err
	}
	fmt.Printf("   %d questions (%d answerable, %d unanswerable); quickstart as shipped\n",
		r.all.answerable+r.all.unanswerable, r.all.answerable, r.all.unanswerable)
	fmt.Printf("   %-9s %9s %7s %8s %10s %15s\n", "set", "precision", "recall", "hit rate", "abstention", "false abstention")
	for _, name := range []string{tuneSet, heldOutSet, "all"} {
		s := r.bySet[name]
		if name == "all" {
			s = &r.all
		}
		fmt.Printf("   %-9s %9.3f %7.3f %8.3f %10.3f %15.3f\n", name, s.Precision(), s.Recall(), s.HitRate(), s.AbstentionRate(), s.FalseAbstentionRate())
	}
	if os.Getenv("ANSWERS_DETAIL") != "" {
		for _, o := range r.outcomes {
			fmt.Printf("\n   [%s] %s (%s)\n     → %s\n     sources %s\n", o.q.Set, o.q.Question, cmpLabel(o.q), o.answer, o.sources)
		}
	}
	return nil
}

func cmpLabel(q labelledQuestion) string {
	if len(q.Answers) == 0 {
		return "unanswerable"
	}
	return q.Doc
}

// evaluateAnswers runs the quickstart under root on every labelled question and scores
// the answers.
func evaluateAnswers(root string) (*answerReport, error) {
	qs, err := loadLabelledQuestions(root)
	if err != nil {
		return nil, err
	}
	ask, done, err := quickstartAsker(root)
	if err != nil {
		return nil, err
	}
	defer done()
	r := &answerReport{bySet: map[string]*answerScores{tuneSet: {}, heldOutSet: {}}}
	for _, q := range qs {
		answer, sources, err := ask(q.Question)
		if err != nil {
			return nil, fmt.Errorf("question %q: %w", q.Question, err)
		}
		r.bySet[q.Set].add(q, answer)
		r.all.add(q, answer)
		r.outcomes = append(r.outcomes, answerOutcome{q, answer, sources})
	}
	return r, nil
}

// loadLabelledQuestions reads the labelled set and checks that every labelled sentence is
// a sentence of its document, so a typo cannot silently lower the figures.
func loadLabelledQuestions(root string) ([]labelledQuestion, error) {
	path := filepath.Join(root, "bench", "testdata", "answers.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Questions []labelledQuestion `json:"questions"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sentences := map[string][]string{}
	for i, q := range file.Questions {
		if q.Set != tuneSet && q.Set != heldOutSet {
			return nil, fmt.Errorf("%s: question %d %q: set is %q, want %q or %q", path, i+1, q.Question, q.Set, tuneSet, heldOutSet)
		}
		if len(q.Answers) == 0 {
			continue
		}
		if _, ok := sentences[q.Doc]; !ok {
			doc, err := os.ReadFile(filepath.Join(root, "examples", "flows", "data", q.Doc+".md"))
			if err != nil {
				return nil, fmt.Errorf("%s: question %d %q: %w", path, i+1, q.Question, err)
			}
			sentences[q.Doc] = local.SplitSentences(string(doc))
		}
		for _, a := range q.Answers {
			if !slices.Contains(sentences[q.Doc], a) {
				return nil, fmt.Errorf("%s: question %d %q: %q is not a sentence of examples/flows/data/%s.md", path, i+1, q.Question, a, q.Doc)
			}
		}
	}
	return file.Questions, nil
}

// quickstartAsker compiles the quickstart flow under root and returns a function that runs
// it for one question and returns its answer output, and a function that cleans up.
func quickstartAsker(root string) (ask func(string) (answer, sources string, err error), done func(), err error) {
	f, diags := spec.ParseFile(filepath.Join(root, "examples", "flows", "quickstart.yaml"))
	if diags.HasErrors() {
		return nil, nil, diags.Err()
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		return nil, nil, diags.Err()
	}
	dir, err := os.MkdirTemp("", "aiflow-answers-")
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	done = func() { st.Close(); os.RemoveAll(dir) }
	ask = func(question string) (string, string, error) {
		res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir, Vars: map[string]any{"question": question}})
		if err != nil {
			return "", "", err
		}
		answer, ok := res.Outputs["answer"].(string)
		if !ok {
			return "", "", fmt.Errorf("the quickstart's answer output is %T, want a string", res.Outputs["answer"])
		}
		return answer, fmt.Sprint(res.Outputs["sources"]), nil
	}
	return ask, done, nil
}
