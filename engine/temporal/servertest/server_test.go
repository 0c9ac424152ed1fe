package servertest

import (
	"testing"

	"go.temporal.io/server/temporaltest"
)

func TestServerStarts(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	if ts.GetFrontendHostPort() == "" {
		t.Fatal("no frontend address")
	}
}
