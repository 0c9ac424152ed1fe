package exprguard

import (
	"context"
	"errors"
	"testing"
)

// TestBudgetReset: a reset budget counts afresh, for the context it is given: the
// engine reuses one per call for its inputs' evaluations.
func TestBudgetReset(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	b := NewBudget(done)
	if err := b.Grow(1); err == nil {
		t.Fatal("a budget for a cancelled context accepted work")
	}
	b.Reset(context.Background())
	if err := b.Grow(MaxBytes); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	var err error
	for i := 0; i < MaxSteps && err == nil; i++ {
		err = b.Step()
	}
	if err != nil {
		t.Fatalf("after Reset, %d steps: %v", MaxSteps, err)
	}
	if err := b.Step(); !errors.Is(err, ErrBudget) {
		t.Fatalf("step past MaxSteps: %v, want ErrBudget", err)
	}
	b.Reset(context.Background())
	if err := b.Step(); err != nil {
		t.Fatalf("after a second Reset: %v", err)
	}
}
