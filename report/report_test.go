package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

var (
	imgSrcRE = regexp.MustCompile(`<img[^>]*\ssrc="([^"]+)"`)
	hrefRE   = regexp.MustCompile(`\shref="([^"]+)"`)
)

// writeReport writes the report of dir and returns index.html's text.
func writeReport(t *testing.T, dir string, opts Options) string {
	t.Helper()
	path, err := Write(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "report", "index.html"); path != want {
		t.Fatalf("Write returned %s, want %s", path, want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// checkLinks checks that every image and link of the page is a relative path to a non-empty
// file of the report folder, that PNGs decode and SVGs are SVG, and returns the image sources.
func checkLinks(t *testing.T, dir, html string) []string {
	t.Helper()
	var srcs []string
	for _, m := range imgSrcRE.FindAllStringSubmatch(html, -1) {
		srcs = append(srcs, m[1])
	}
	var links []string
	for _, m := range hrefRE.FindAllStringSubmatch(html, -1) {
		links = append(links, m[1])
	}
	for _, ref := range append(srcs, links...) {
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") || strings.Contains(ref, "..") {
			t.Errorf("reference %q is not a relative path inside the report", ref)
			continue
		}
		p := filepath.Join(dir, "report", filepath.FromSlash(ref))
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("reference %q: %v", ref, err)
			continue
		}
		switch filepath.Ext(p) {
		case ".png":
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Errorf("%s: %v", ref, err)
			} else if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 100 {
				t.Errorf("%s is only %v", ref, b)
			}
		case ".svg":
			if !bytes.Contains(raw[:min(len(raw), 512)], []byte("<svg")) {
				t.Errorf("%s does not look like SVG: %.80q", ref, raw)
			}
		}
	}
	return srcs
}

func TestWriteStructure(t *testing.T) {
	dir := makeRun(t, fullFixture)
	html := writeReport(t, dir, Options{})
	srcs := checkLinks(t, dir, html)
	// Each figure beside the question it supports, in the order of the questions; the rest after.
	want := []string{"img/task_metrics.png", "img/scorings_window.png", "img/coupling.png", "img/internal_metrics.png",
		"img/over_width.png", "img/attention.png", "img/spectra.png"}
	if strings.Join(srcs, " ") != strings.Join(want, " ") {
		t.Errorf("images %v, want %v", srcs, want)
	}
	for _, s := range want {
		svg := strings.TrimSuffix(s, ".png") + ".svg"
		if !strings.Contains(html, `href="`+svg+`"`) {
			t.Errorf("no link to %s", svg)
		}
	}
	// Summary, then the questions in order, each figure inside its question's section.
	at := func(s string) int {
		i := strings.Index(html, s)
		if i < 0 {
			t.Errorf("page lacks %q", s)
		}
		return i
	}
	order := []int{at(`id="summary"`), at(`id="q-task_jump"`), at(`img/task_metrics.png`), at(`id="q-mirage"`), at(`id="mirage-table"`),
		at(`img/scorings_window.png`), at(`id="q-coupling"`), at(`img/coupling.png`), at(`id="q-specificity"`), at(`id="q-lead_lag"`),
		at(`id="q-scale"`), at(`img/over_width.png`), at(`id="plots"`), at(`img/attention.png`)}
	if !slices.IsSorted(order) {
		t.Errorf("page order %v is not summary, task_jump, mirage, coupling, specificity, lead_lag, scale, more plots", order)
	}
	for _, bad := range []string{"<script", "http://", "https://", "could not be drawn", "No analysis yet", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, s := range []string{"phaseprobe report: syn", "addition (digits=2)", "d_model [16 32]", "addition, n_layers 2, n_heads 2",
		"insufficient seeds (need 6)", "Figure 1. Task metrics over training", "Figure 7. Singular-value spectra", "No cell diverged"} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// Every verdict row is in the table, with its evidence.
	if got, want := strings.Count(html, `<td class="v-`), len(fxVerdicts(scDemo, 0)); got != want {
		t.Errorf("%d verdict rows, want %d", got, want)
	}
	if !strings.Contains(html, `<td class="v-negative">no coupling shown</td><td class="nowrap">all widths, L2 H2</td><td class="mono">effective_rank of blocks.1.hook_resid_post</td><td class="num">0.2</td><td class="num">0.400</td><td class="num">0.600</td><td class="num">0.3 [-0.5, 1.2]</td><td class="num">2 / 4</td>`) {
		t.Errorf("the not-coupled row is not rendered with its evidence")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".report") {
			t.Errorf("temporary folder %s left behind", e.Name())
		}
	}
}

// TestVerdictOrder checks that within a question the verdicts that carry a claim come first,
// then tested negatives, then the rows short of evidence.
func TestVerdictOrder(t *testing.T) {
	fx := fullFixture
	fx.Scenario = scCoupled
	html := writeReport(t, makeRun(t, fx), Options{})
	section := func(id string) string {
		i := strings.Index(html, `id="verdicts-`+id+`"`)
		if i < 0 {
			t.Fatalf("no table for %s", id)
		}
		return html[i : i+strings.Index(html[i:], "</table>")]
	}
	for _, tc := range []struct {
		id    string
		order []string
	}{
		{"coupling", []string{">coupled<", ">no coupling shown<"}},
		{"specificity", []string{">specific<", ">not shown specific<"}},
		{"lead_lag", []string{">precedes<", ">coincides<", ">not assessed (no coupling shown)<"}},
	} {
		s := section(tc.id)
		last := -1
		for _, v := range tc.order {
			i := strings.Index(s, v)
			if i <= last {
				t.Errorf("%s: %s at %d, after %d: want order %v", tc.id, v, i, last, tc.order)
			}
			last = i
		}
	}
}

func TestWriteVerdictLimit(t *testing.T) {
	fx := fullFixture
	fx.ExtraRows = 40
	html := writeReport(t, makeRun(t, fx), Options{MaxVerdictRows: 5})
	i := strings.Index(html, `id="verdicts-coupling"`)
	table := html[i : i+strings.Index(html[i:], "</table>")]
	if got := strings.Count(table, `<td class="v-`); got != 5 {
		t.Errorf("%d coupling rows, want 5", got)
	}
	// The demo's not-coupled rank row has the smallest p of the not-coupled rows: it is kept; the
	// short and ceiling rows come after the 41 tested rows and are omitted.
	if !strings.Contains(table, "effective_rank of blocks.1.hook_resid_post") || strings.Contains(table, "insufficient cells") {
		t.Errorf("the cap kept the wrong rows")
	}
	if !strings.Contains(html, "Showing 5 of 43 rows of this question") || !strings.Contains(html, "38 more in analysis/verdicts.parquet") {
		t.Errorf("no note of the omitted rows")
	}
	// The other questions have at most 5 rows and are not capped.
	if n := strings.Count(html, "Showing "); n != 1 {
		t.Errorf("%d capped questions, want 1", n)
	}
}

func TestWriteWithoutAnalysis(t *testing.T) {
	dir := makeRun(t, fixture{})
	html := writeReport(t, dir, Options{})
	srcs := checkLinks(t, dir, html)
	want := []string{"img/task_metrics.png", "img/over_width.png", "img/attention.png"}
	if strings.Join(srcs, " ") != strings.Join(want, " ") {
		t.Errorf("images %v, want %v (task metrics, over width, attention of the default heads)", srcs, want)
	}
	for _, s := range []string{"No analysis yet: run phaseprobe analyze", "draws no conclusion", "No verdicts table yet", "No mirage table yet",
		"No internal metrics yet", "No head scores yet", "No singular-value spectra"} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range []string{"(a) Does the capability jump", "jumps at d_model", "coupled", "phase-transition view"} {
		if strings.Contains(html, s) {
			t.Errorf("a run without analysis says %q", s)
		}
	}
}

// TestWriteReproducible writes the report twice: every file must be the same byte for byte.
func TestWriteReproducible(t *testing.T) {
	dir := makeRun(t, fullFixture)
	read := func() map[string][]byte {
		writeReport(t, dir, Options{})
		out := map[string][]byte{}
		err := filepath.WalkDir(filepath.Join(dir, "report"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(p)
			out[p] = raw
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := read(), read()
	if len(a) != len(b) || len(a) < 10 {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for p, raw := range a {
		if !bytes.Equal(raw, b[p]) {
			t.Errorf("%s differs between two reports of the same run", p)
		}
	}
}

func TestWriteEmptyAnalysis(t *testing.T) {
	fx := fullFixture
	fx.Empty = true
	dir := makeRun(t, fx)
	html := writeReport(t, dir, Options{})
	checkLinks(t, dir, html)
	for _, s := range []string{"The verdicts table is empty", "The mirage table is empty", "no coupling row with onsets",
		"The mirage table has no jump window"} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func TestWriteDiverged(t *testing.T) {
	fx := fullFixture
	fx.Diverged = true
	dir := makeRun(t, fx)
	html := writeReport(t, dir, Options{})
	checkLinks(t, dir, html)
	i := strings.Index(html, `id="diverged"`)
	if i < 0 {
		t.Fatal("no table of diverged cells")
	}
	if !strings.Contains(html[i:], "addition-d16-L2-H2-s2") || !strings.Contains(html[i:], `<td class="num">20</td>`) {
		t.Errorf("diverged table lacks the cell or its step")
	}
	if !strings.Contains(html, "1 of 5 cells diverged") {
		t.Errorf("summary does not mention the diverged cell")
	}
}

func TestWriteAllDiverged(t *testing.T) {
	for _, fx := range []fixture{{AllDiverge: true}, {AllDiverge: true, Internal: true, Analysis: true, Empty: true}} {
		dir := makeRun(t, fx)
		html := writeReport(t, dir, Options{})
		checkLinks(t, dir, html)
		if !strings.Contains(html, "4 of 4 cells diverged") {
			t.Errorf("summary does not say every cell diverged")
		}
		if strings.Contains(html, "could not be drawn") {
			t.Errorf("a plot failed")
		}
	}
}

func TestWriteIncompleteCell(t *testing.T) {
	dir := makeRun(t, fullFixture)
	if err := os.MkdirAll(filepath.Join(dir, "cells", "addition-d64-L2-H2-s0"), 0o755); err != nil {
		t.Fatal(err)
	}
	html := writeReport(t, dir, Options{})
	if !strings.Contains(html, "Cells without metrics") || !strings.Contains(html, "addition-d64-L2-H2-s0") {
		t.Errorf("the cell without metrics is not listed")
	}
}

// TestWriteReplaces: a new report replaces the previous one's files (a figure it no longer draws
// is gone) and keeps every file a user put in the report folder; a plain file where the folder
// should be is refused and kept; no temporary folder is left behind.
func TestWriteReplaces(t *testing.T) {
	dir := makeRun(t, fixture{})
	writeReport(t, dir, Options{})
	put := func(rel, text string) string {
		p := filepath.Join(dir, "report", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ghost := put("img/coupling.svg", "<svg/>") // a figure of an earlier report that this run does not draw
	mine := []string{put("img/stale.png", "mine"), put("notes.md", "my notes"), put("drafts/fig.svg", "<svg>mine</svg>")}
	writeReport(t, dir, Options{})
	if _, err := os.Stat(ghost); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a figure of the previous report survived: %v", err)
	}
	for _, p := range mine {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a user's file was lost: %v", err)
		}
	}
	if raw, _ := os.ReadFile(mine[1]); string(raw) != "my notes" {
		t.Errorf("notes.md = %q", raw)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".report") {
			t.Errorf("temporary folder %s left behind", e.Name())
		}
	}
	plain := makeRun(t, fixture{})
	if err := os.WriteFile(filepath.Join(plain, "report"), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), plain, Options{}); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a plain file named report: err %v", err)
	}
	if raw, _ := os.ReadFile(filepath.Join(plain, "report")); string(raw) != "not a folder" {
		t.Errorf("the plain file named report changed: %q", raw)
	}
}

func TestWriteErrors(t *testing.T) {
	if _, err := Write(context.Background(), filepath.Join(t.TempDir(), "nope"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: err = %v, want ErrNotExist", err)
	}
	dir := makeRun(t, fixture{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cancelled Write left a report: %v", err)
	}
	// A corrupt table is an error that names it.
	bad := filepath.Join(dir, "analysis", data.VerdictsFile)
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), data.VerdictsFile) {
		t.Errorf("corrupt table: err = %v, want one naming %s", err, data.VerdictsFile)
	}
}

// TestWriteRemovesDeadTemps: the temporary folder of a report killed long ago (its process gone)
// is removed by the next report; a recent one, one of a live process and a user's folder of a
// similar name are kept.
func TestWriteRemovesDeadTemps(t *testing.T) {
	dir := makeRun(t, fixture{})
	old := time.Now().Add(-time.Hour)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "img"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := mk(".report-tmp-2147483646-123", old)
	deadOld := mk(".report-old-2147483646", old)
	recent := mk(".report-tmp-2147483646-456", time.Now())
	live := mk(fmt.Sprintf(".report-tmp-%d-789", os.Getpid()), old)
	user := mk(".report-tmp-notes", old)
	writeReport(t, dir, Options{})
	for _, p := range []string{dead, deadOld} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of a dead report survived: %v", filepath.Base(p), err)
		}
	}
	for _, p := range []string{recent, live, user} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
}
