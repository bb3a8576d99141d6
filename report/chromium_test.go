package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary. It skips the test when there is none, unless
// PHASEPROBE_REQUIRE_CHROMIUM=1 (make test sets it), when it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PHASEPROBE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium not found and PHASEPROBE_REQUIRE_CHROMIUM=1")
	}
	t.Skip("chromium not found; set PHASEPROBE_REQUIRE_CHROMIUM=1 to make this a failure")
	return ""
}

// runChromium runs headless Chromium with a private profile and no network, and returns its
// stdout.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// imageCheck is the inline script of the test-only copy of the page: once the page has loaded it
// counts the images that decoded to a non-empty bitmap and records the count on <body>.
const imageCheck = `<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0, bad = [];
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0 && imgs[i].naturalHeight > 0) { ok++; } else { bad.push(imgs[i].getAttribute("src")); }
  }
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
  document.body.setAttribute("data-broken", bad.join(" "));
});
</script>
</body>`

var imagesAttrRE = regexp.MustCompile(`data-images="(\d+)/(\d+)"`)

// TestChromium opens the report in headless Chromium: every image of a test-only copy with an
// inline checking script must load, and a screenshot of the real page must not be blank.
// PHASEPROBE_REPORT_SCREENSHOT=path keeps the screenshot for a human to look at.
func TestChromium(t *testing.T) {
	bin := chromium(t)
	fx := fullFixture
	fx.Diverged = true
	dir := makeRun(t, fx)
	html := writeReport(t, dir, Options{})
	if strings.Contains(html, "<script") {
		t.Fatal("the report has a script")
	}
	want := len(imgSrcRE.FindAllString(html, -1))

	// The checking copy sits next to the real page so that its relative image paths resolve.
	check := filepath.Join(dir, "report", "check.html")
	if err := os.WriteFile(check, []byte(strings.Replace(html, "</body>", imageCheck, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, bin, "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000", "--dump-dom", "file://"+check)
	m := imagesAttrRE.FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the checking script did not run; dumped DOM:\n%s", tail(string(dom), 1500))
	}
	if string(m[1]) != string(m[2]) || string(m[2]) != strconv.Itoa(want) {
		broken := regexp.MustCompile(`data-broken="([^"]*)"`).FindSubmatch(dom)
		t.Errorf("%s/%s images loaded, the page has %d; broken: %s", m[1], m[2], want, broken)
	}
	os.Remove(check)

	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, "--window-size=1280,2400", "--screenshot="+shot, "file://"+filepath.Join(dir, "report", "index.html"))
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if white, colourful := inkStats(img); white > 0.97 || colourful < 0.001 {
		t.Errorf("screenshot looks blank: %.1f%% white, %.2f%% coloured pixels", 100*white, 100*colourful)
	}
	checkOnsetFigureInBrowser(t, bin, dir)
	if keep := os.Getenv("PHASEPROBE_REPORT_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot kept at %s", keep)
	}
}

// inkStats returns the fraction of near-white pixels and of saturated (coloured) pixels.
func inkStats(img image.Image) (white, colourful float64) {
	b := img.Bounds()
	var nw, nc, n int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			n++
			if r > 245 && g > 245 && bl > 245 {
				nw++
			}
			if max(r, g, bl)-min(r, g, bl) > 60 {
				nc++
			}
		}
	}
	return float64(nw) / float64(n), float64(nc) / float64(n)
}

// checkOnsetFigureInBrowser opens the onset figure's SVG (the coupling scatter) in Chromium and
// reads the document it parsed: every point is a group with a <title> (the hover text), and every
// series (a cell, in each panel) has its own (colour, marker) style.
func checkOnsetFigureInBrowser(t *testing.T, bin, dir string) {
	t.Helper()
	dom := string(runChromium(t, bin, "--dump-dom", "file://"+filepath.Join(dir, "report", "img", "coupling.svg")))
	groups := titledGroupRE.FindAllStringSubmatch(dom, -1)
	if len(groups) == 0 {
		t.Fatalf("Chromium's document of the onset figure has no titled point:\n%s", tail(dom, 1500))
	}
	bySubject := map[string]map[string][]markSig{}
	for _, g := range groups {
		subject, _, _ := strings.Cut(g[1], " · ")
		m := cellInTitleRE.FindStringSubmatch(g[1])
		if m == nil {
			t.Errorf("hover text %q names no cell", g[1])
			continue
		}
		if bySubject[subject] == nil {
			bySubject[subject] = map[string][]markSig{}
		}
		bySubject[subject][m[1]] = append(bySubject[subject][m[1]], markSignature(g[2]))
	}
	for subject, sigs := range bySubject {
		checkDistinctSeries(t, "onset figure in Chromium, "+subject, sigs, len(sigs))
	}
}
