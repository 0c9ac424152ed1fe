package main

import (
	"os"
	"strconv"

	"github.com/aiflow/aiflow/engine/store"
)

// processLabels identify the process that runs a flow, so `aiflow runs` can tell a run
// still under way from one whose process was killed.
func processLabels() map[string]string {
	host, _ := os.Hostname()
	return map[string]string{"pid": strconv.Itoa(os.Getpid()), "host": host}
}

// displayStatus is a run's status, with "running" shown as "interrupted" when the run's
// process on this host is gone (kill -9, crash): such a run can be resumed.
func displayStatus(r store.Run) string {
	if r.Status != store.RunRunning {
		return r.Status
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(r.Labels["pid"])
	if err != nil || r.Labels["host"] != host || pid <= 0 {
		return r.Status
	}
	if processGone(pid) {
		return "interrupted"
	}
	return r.Status
}
