package vectorize

import "testing"

func TestCovers(t *testing.T) {
	x := &Index{}
	for _, id := range []string{"m1", "m2", "m3"} {
		x.note(id)
	}
	tests := []struct {
		name, processed, id string
		want                bool
	}{
		{"the mutation itself", "m2", "m2", true},
		{"a later mutation of this index", "m3", "m1", true},
		{"an earlier mutation of this index", "m1", "m2", false},
		{"another writer's mutation", "x9", "m1", false},
		{"nothing processed yet", "", "m1", false},
		{"an id this index never queued", "m3", "zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := x.covers(tt.processed, tt.id); got != tt.want {
				t.Errorf("covers(%q, %q) = %v, want %v", tt.processed, tt.id, got, tt.want)
			}
		})
	}
}

func TestNoteBounded(t *testing.T) {
	x := &Index{}
	for i := range maxIssued + 10 {
		x.note(string(rune('a'+i%26)) + string(rune(i)))
	}
	if len(x.issued) != maxIssued {
		t.Errorf("%d ids remembered, want %d", len(x.issued), maxIssued)
	}
}
