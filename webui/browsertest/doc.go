// Package browsertest holds the tests of the run viewer (`aiflow ui`) in a real,
// headless Chromium driven with chromedp. Everything else is in _test.go files, so
// neither chromedp nor the harness ends up in the aiflow binary.
//
// The tests build the aiflow binary, run flows with it into a temporary state
// directory, start `aiflow ui` on a loopback port against that state and check the
// page against the DOM contract the viewer follows (the runs list, the DAG, the
// timeline, the step detail, the diff view). They find the browser through
// AIFLOW_CHROMIUM or PATH and skip without one, unless AIFLOW_REQUIRE_BROWSER=1 (as
// under `make test`), when they fail instead. Screenshots go to AIFLOW_TEST_ARTIFACTS
// or, unset, testdata/artifacts/ of this package.
package browsertest
