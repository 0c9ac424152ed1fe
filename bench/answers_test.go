package main

import "testing"

// TestAnswerQualityFloors runs the quickstart on the labelled questions and fails when the
// answers get worse than they measure today (floors a little under the figures printed by
// go run ./bench answers: precision 0.629, recall 0.537, abstention 0.938, false abstention
// 0.028, hit rate 0.819 over all 88 questions).
func TestAnswerQualityFloors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quickstart 88 times")
	}
	r, err := evaluateAnswers("..")
	if err != nil {
		t.Fatal(err)
	}
	s := r.all
	t.Logf("precision %.3f, recall %.3f, hit rate %.3f, abstention %.3f, false abstention %.3f",
		s.Precision(), s.Recall(), s.HitRate(), s.AbstentionRate(), s.FalseAbstentionRate())
	if s.answerable < 60 || s.unanswerable < 10 {
		t.Fatalf("labelled set has %d answerable and %d unanswerable questions; want at least 60 and 10", s.answerable, s.unanswerable)
	}
	floors := []struct {
		name      string
		got, want float64
		atMost    bool
	}{
		{"answer-sentence precision", s.Precision(), 0.60, false},
		{"answer-sentence recall", s.Recall(), 0.51, false},
		{"hit rate", s.HitRate(), 0.79, false},
		{"abstention on unanswerable questions", s.AbstentionRate(), 0.87, false},
		{"false abstention on answerable questions", s.FalseAbstentionRate(), 0.05, true},
	}
	for _, f := range floors {
		if f.atMost && f.got > f.want || !f.atMost && f.got < f.want {
			t.Errorf("%s is %.3f; it must stay %s %.2f", f.name, f.got, map[bool]string{true: "at most", false: "at least"}[f.atMost], f.want)
		}
	}
}

// TestScoresAnswers checks the metric arithmetic on hand-made answers.
func TestScoresAnswers(t *testing.T) {
	var s answerScores
	q := labelledQuestion{Question: "q", Doc: "d", Answers: []string{"Right one.", "Right two."}}
	s.add(q, "Right one. Wrong.")
	s.add(q, Abstention)
	s.add(labelledQuestion{Question: "u"}, Abstention)
	s.add(labelledQuestion{Question: "u2"}, "Confident nonsense.")
	if s.Precision() != 0.5 || s.Recall() != 0.25 || s.HitRate() != 0.5 || s.AbstentionRate() != 0.5 || s.FalseAbstentionRate() != 0.5 {
		t.Errorf("precision %v recall %v hit %v abstention %v false abstention %v; want 0.5 0.25 0.5 0.5 0.5",
			s.Precision(), s.Recall(), s.HitRate(), s.AbstentionRate(), s.FalseAbstentionRate())
	}
}
