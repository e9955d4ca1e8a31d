package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/report"
)

// chromium finds the browser: USERSYNC_TEST_CHROMIUM (which
// .ci/services/chromium.sh sets), or chromium on the PATH; it skips
// without one, and fails under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("USERSYNC_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "chromium is not installed (USERSYNC_TEST_CHROMIUM is unset)")
	return ""
}

// A page's layout as the browser measured it, in CSS pixels.
type layout struct {
	ScrollWidth, ClientWidth, ScrollHeight int
}

// measure loads the file at width on a mobile viewport, measures how wide
// its document is against the viewport, and takes a full-page PNG.
func measure(t *testing.T, browser context.Context, file string, width int64) (layout, []byte) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	abs, err := filepath.Abs(file)
	require.NoError(t, err)
	var opts []chromedp.EmulateViewportOption
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(width, 800, opts...),
		chromedp.Navigate("file://"+abs)))
	dims, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](
		`[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.documentElement.scrollHeight]`))
	require.NoError(t, err)
	require.Len(t, dims, 3)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	return layout{dims[0], dims[1], dims[2]}, png
}

// TestHTMLInBrowser renders every golden HTML summary, and an alert, in
// headless Chromium
// at a phone's width (390 px) and a desktop's (900 px), checks that the
// document never scrolls sideways, and writes a screenshot of each to
// testdata/out (ignored by git) for a person to look at.
func TestHTMLInBrowser(t *testing.T) {
	exe := chromium(t)
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.DisableGPU)
	if os.Geteuid() == 0 {
		allocOpts = append(allocOpts, chromedp.NoSandbox) // Chromium refuses to run its sandbox as root
	}
	browser, cancel := chromedp.NewExecAllocator(t.Context(), allocOpts...)
	defer cancel()
	browser, cancelBrowser := chromedp.NewContext(browser)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate("about:blank")), "start %s", exe)

	out := filepath.Join("testdata", "out")
	require.NoError(t, os.MkdirAll(out, 0o755))

	// The check itself: a page wider than the phone is caught.
	wide := filepath.Join(t.TempDir(), "wide.html")
	require.NoError(t, os.WriteFile(wide, []byte(`<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>`+
		`<body><table width="680"><tr><td>a table as wide as the old summary</td></tr></table></body></html>`), 0o644))
	l, _ := measure(t, browser, wide, 390)
	require.Greater(t, l.ScrollWidth, l.ClientWidth, "the measure sees a page that scrolls sideways: %+v", l)

	files, err := filepath.Glob(filepath.Join("testdata", "*.html"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	// And an alert, which has no golden file: a held plan's.
	c := newWatch(t, &report.WatchOptions{Summary: &report.Options{Name: "Acme", ApproveURL: "https://app.example/approve?p=7"}})
	require.NoError(t, c.run(t, 0, held()))
	require.Len(t, c.to.got, 1)
	var alert bytes.Buffer
	require.NoError(t, report.WriteAlertHTML(&alert, c.to.got[0]))
	alertFile := filepath.Join(t.TempDir(), "alert-held.html")
	require.NoError(t, os.WriteFile(alertFile, alert.Bytes(), 0o644))
	files = append(files, alertFile)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".html")
		for _, width := range []int64{390, 900} {
			t.Run(fmt.Sprintf("%s/%d", name, width), func(t *testing.T) {
				l, png := measure(t, browser, file, width)
				assert.Equal(t, int(width), l.ClientWidth, "the viewport is %d px wide", width)
				assert.LessOrEqual(t, l.ScrollWidth, l.ClientWidth, "%s scrolls sideways at %d px: %+v", file, width, l)
				shot := filepath.Join(out, fmt.Sprintf("%s-%d.png", name, width))
				require.NoError(t, os.WriteFile(shot, png, 0o644))
				t.Logf("%s: %d×%d px, screenshot %s", file, l.ClientWidth, l.ScrollHeight, shot)
			})
		}
	}
}
