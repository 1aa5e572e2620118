package views_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium. Without it the browser test skips,
// except under CI, where it must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed (apt-get install -y chromium); skipping the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where the browser test leaves its screenshots.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TRUECOST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless Chromium and returns a tab's context, and a
// function listing the console errors the pages logged (CSP violations,
// script exceptions).
func newBrowser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		// Close the browser and wait for it, so that its profile folder
		// can be removed.
		_ = chromedp.Cancel(ctx)
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})

	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError {
				problems = append(problems, ev.Entry.Text)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, ev.ExceptionDetails.Error())
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// browserSteps runs a browser test's named steps and saves its
// screenshots, each of the whole page scrolled to the top, under out.
type browserSteps struct {
	t   *testing.T
	ctx context.Context
	out string
}

// run performs actions, failing the test with the step's name.
func (b browserSteps) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// wait runs a wait that only reads the page, again when the page was
// replaced under it (an htmx swap or a redirect as a job ends).
func (b browserSteps) wait(step string, action chromedp.Action) {
	b.t.Helper()
	var err error
	for range 3 {
		if err = chromedp.Run(b.ctx, action); err == nil || !strings.Contains(err.Error(), "navigated or closed") {
			break
		}
	}
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// screenshot saves the whole page as name.
func (b browserSteps) screenshot(name string) {
	b.t.Helper()
	var png []byte
	b.run("screenshot "+name, chromedp.Evaluate(`window.scrollTo(0, 0)`, nil), chromedp.FullScreenshot(&png, 100))
	path := filepath.Join(b.out, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

func TestBrowserSignsInReadsDashboardFiltersWithHTMXAndListsRuns(t *testing.T) {
	sc := newStoreConsole(t)
	ctx, consoleErrors := newBrowser(t)
	out := artifactsDir(t)
	base := sc.srv.URL

	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	screenshot := func(name string) {
		t.Helper()
		var png []byte
		run("screenshot "+name, chromedp.FullScreenshot(&png, 100))
		path := filepath.Join(out, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}

	// Sign in through the form.
	run("open login",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
	)
	screenshot("login.png")
	run("sign in",
		chromedp.SendKeys(`input[name=email]`, "admin@northwind.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, testPassword, chromedp.ByQuery),
		chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("daily-chart")+" svg", chromedp.ByQuery),
	)

	var htmxLoaded bool
	run("check htmx", chromedp.Evaluate(`typeof htmx !== 'undefined'`, &htmxLoaded))
	if !htmxLoaded {
		t.Fatal("htmx did not load: copy node_modules/htmx.org/dist/htmx.min.js to static/vendor/ (npm ci, then the Makefile's copy step)")
	}

	// The dashboard: total, chart, tables.
	var total string
	var bars, providerRows, serviceRows int
	run("read dashboard",
		chromedp.AttributeValue(testID("total-USD"), "data-amount", &total, nil, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="daily-chart"] svg rect.bar').length`, &bars),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="provider-table"] tbody tr').length`, &providerRows),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="service-table"] tbody tr').length`, &serviceRows),
	)
	if total != sampleTotal {
		t.Errorf("total USD %q, want %q", total, sampleTotal)
	}
	if bars < 30 {
		t.Errorf("chart has %d bars, want at least one per day of September", bars)
	}
	if providerRows != 4 || serviceRows != 11 {
		t.Errorf("provider table %d rows, service table %d rows; want 4 and 10 + the rest", providerRows, serviceRows)
	}
	var chartBox []float64
	run("measure chart", chromedp.Evaluate(`(() => { const r = document.querySelector('[data-testid="daily-chart"] svg').getBoundingClientRect(); return [r.width, r.height] })()`, &chartBox))
	if len(chartBox) != 2 || chartBox[0] < 600 || chartBox[1] < 150 {
		t.Errorf("chart drawn %v px, want a readable size", chartBox)
	}
	screenshot("dashboard.png")

	// Changing the metric swaps the report in place through htmx.
	changeSelect := func(testid, value string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`(() => {
			const s = document.querySelector('[data-testid=%q]');
			s.value = %q;
			s.dispatchEvent(new Event('change', {bubbles: true}));
			return s.value;
		})()`, testid, value), nil)
	}
	var sameDocument bool
	var location, subtitle string
	run("change metric",
		chromedp.Evaluate(`window.__sameDocument = true`, nil),
		changeSelect("metric-picker", "EFFECTIVE_COST"),
		chromedp.Poll(`document.querySelector('[data-testid="report-subtitle"]').textContent.includes('Effective cost')`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`window.__sameDocument === true`, &sameDocument),
		chromedp.Location(&location),
	)
	if !sameDocument {
		t.Error("changing the metric reloaded the whole page")
	}
	if !strings.Contains(location, "metric=EFFECTIVE_COST") {
		t.Errorf("URL after the change %q, want the filters pushed into it", location)
	}

	// Picking one customer narrows the report, still in place.
	run("pick customer",
		changeSelect("org-picker", sc.customer.ID),
		chromedp.Poll(`document.querySelector('[data-testid="report-subtitle"]').textContent.startsWith('Contoso Ltd')`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`window.__sameDocument === true`, &sameDocument),
		chromedp.Text(testID("report-subtitle"), &subtitle, chromedp.ByQuery),
	)
	if !sameDocument {
		t.Error("picking an organization reloaded the whole page")
	}
	if subtitle != "Contoso Ltd · Effective cost" {
		t.Errorf("subtitle %q, want %q", subtitle, "Contoso Ltd · Effective cost")
	}
	run("back to billed cost",
		changeSelect("metric-picker", "BILLED_COST"),
		chromedp.Poll(`document.querySelector('[data-testid="report-subtitle"]').textContent.includes('Billed cost')`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.AttributeValue(testID("total-USD"), "data-amount", &total, nil, chromedp.ByQuery),
	)
	if total != sampleTotal {
		t.Errorf("Contoso's billed total %q, want %q", total, sampleTotal)
	}

	// The runs page.
	var runRows int
	var statuses, errText string
	run("open runs",
		chromedp.Click(`a.nav-link[href="/runs"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("runs-table"), chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="run-row"]').length`, &runRows),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="run-status"]')].map(e => e.textContent).join(',')`, &statuses),
		chromedp.Text(testID("run-error"), &errText, chromedp.ByQuery),
	)
	if runRows != 2 || statuses != "Failed,Succeeded" {
		t.Errorf("runs page shows %d runs with statuses %q, want 2: Failed,Succeeded", runRows, statuses)
	}
	if !strings.Contains(errText, "focus_broken.csv") || !strings.Contains(errText, "BilledCost") {
		t.Errorf("run error %q, want the full message naming file and column", errText)
	}
	screenshot("runs.png")

	// Signing out returns to the login page.
	run("sign out",
		chromedp.Click(testID("sign-out"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
	)

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
}
