package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// Defaults of Options.
const (
	DefaultMaxVerdictRows = 30 // rows of the verdict table per question
	DefaultHeads          = 3  // attention heads shown
	DefaultFamilies       = 12 // internal metric panels
)

// Options configures Write. The zero value gives the defaults.
type Options struct {
	// MaxVerdictRows caps each question's rows in the verdict table: verdicts that carry a claim
	// come first, and the number left out is stated (the full table is analysis/verdicts.parquet).
	// ≤ 0 means DefaultMaxVerdictRows.
	MaxVerdictRows int
	// Heads is how many attention heads get heatmaps. ≤ 0 means DefaultHeads.
	Heads int
	// Families caps the internal-metric panels. ≤ 0 means DefaultFamilies.
	Families int
}

func (o Options) withDefaults() Options {
	if o.MaxVerdictRows <= 0 {
		o.MaxVerdictRows = DefaultMaxVerdictRows
	}
	if o.Heads <= 0 {
		o.Heads = DefaultHeads
	}
	if o.Families <= 0 {
		o.Families = DefaultFamilies
	}
	return o
}

// Dir returns the report folder of a run folder: runDir/report.
func Dir(runDir string) string { return filepath.Join(runDir, data.ReportDir) }

// Write builds the report of the sweep in runDir and returns the path of its index.html,
// runDir/report/index.html. Images go to runDir/report/img/ as PNG and SVG.
//
// The report is assembled in a temporary folder inside runDir and renamed to runDir/report when
// complete, replacing an earlier report, so readers never see a partial one. Missing analysis
// tables, diverged cells and cells without metrics are reported in the page, not returned as
// errors; Write fails when runDir does not exist, a table exists but cannot be read, a file
// cannot be written, or ctx is cancelled.
func Write(ctx context.Context, runDir string, opts Options) (string, error) {
	opts = opts.withDefaults()
	st, err := os.Stat(runDir)
	if err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("report %s: not a folder", runDir)
	}
	r, err := loadRun(ctx, runDir)
	if err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	removeDeadTemps(runDir)
	tmp, err := os.MkdirTemp(runDir, fmt.Sprintf(".report-tmp-%d-", os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "img"), 0o755); err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	p, err := build(ctx, r, filepath.Join(tmp, "img"), opts)
	if err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	var buf bytes.Buffer
	if err := writePage(&buf, p); err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, data.ReportFile), buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dst := Dir(runDir)
	if err := replaceDir(tmp, dst); err != nil {
		return "", fmt.Errorf("report %s: %w", runDir, err)
	}
	return filepath.Join(dst, data.ReportFile), nil
}

// tempRE matches the folders a report is assembled in and its previous version is moved aside
// to: .report-tmp-<pid>-<random> and .report-old-<pid>.
var tempRE = regexp.MustCompile(`^\.report-(?:tmp-([0-9]+)-[0-9]+|old-([0-9]+))$`)

// removeDeadTemps removes the temporary folders of reports that were killed before they finished
// (SIGKILL skips Write's deferred removal): those named by tempRE whose process is gone and that
// are more than ten minutes old, so a report still being written by a live process — on this
// machine, or on another node sharing the folder — is left alone.
func removeDeadTemps(runDir string) {
	entries, err := os.ReadDir(runDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := tempRE.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		pid, _ := strconv.Atoi(m[1] + m[2])
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < 10*time.Minute || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(runDir, e.Name()))
	}
}

// processAlive reports whether a process with this pid exists on this machine.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// figureIDs are the names of every figure the report draws (img/<ID>.png and .svg). With
// index.html and the CLI's manifest.json they are the report folder's own files: a new report
// replaces them and keeps every other file in the folder (builder.save panics on an ID not
// listed, so a figure cannot be added without it).
var figureIDs = []string{"task_metrics", "scorings_window", "internal_metrics", "spectra", "attention", "coupling", "over_width"}

// ownFile reports whether rel (slash-separated, relative to the report folder) is a file the
// report writes.
func ownFile(rel string) bool {
	switch rel {
	case data.ReportFile, "manifest.json":
		return true
	}
	dir, name := path.Split(rel)
	ext := path.Ext(name)
	return dir == "img/" && (ext == ".png" || ext == ".svg") && slices.Contains(figureIDs, strings.TrimSuffix(name, ext))
}

// replaceDir renames the folder src to dst. An existing dst is first moved aside and removed
// after the rename, so dst is always either the old or the new folder; files in the old folder
// that the report does not write (ownFile: a user's notes, images of their own) are moved into
// the new one first, at the same paths, so nothing a user put there is lost. A dst that is not a
// folder is refused.
func replaceDir(src, dst string) error {
	old := ""
	if st, err := os.Lstat(dst); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a folder: refusing to replace it with the report", dst)
		}
		if err := keepOthersFiles(dst, src); err != nil {
			return err
		}
		old = filepath.Join(filepath.Dir(dst), fmt.Sprintf(".%s-old-%d", filepath.Base(dst), os.Getpid()))
		os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// keepOthersFiles moves every file and link under oldDir that the report does not write into
// newDir at the same relative path (a file of the new report's by that name is kept, the
// user's moved aside as <name>.user).
func keepOthersFiles(oldDir, newDir string) error {
	return filepath.WalkDir(oldDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(oldDir, p)
		if err != nil || rel == "." {
			return err
		}
		if d.IsDir() || ownFile(filepath.ToSlash(rel)) {
			return nil
		}
		to := filepath.Join(newDir, rel)
		if _, err := os.Lstat(to); err == nil {
			to += ".user"
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.Rename(p, to)
	})
}

// build draws the figures into imgDir and assembles the page.
func build(ctx context.Context, r *run, imgDir string, opts Options) (page, error) {
	split := r.Settings.Split // the split the analysis judged the capability on
	if !r.HasSettings {
		split = primarySplit(r.Task, r.Spec.Probe.Split)
	}
	b := &builder{r: r, imgDir: imgDir, split: split, widths: widths(r.Cells), opts: opts, maxStep: 1}
	b.colours = widthColours(b.widths)
	for _, c := range r.Cells {
		if !slices.Contains(b.seeds, c.Seed) {
			b.seeds = append(b.seeds, c.Seed)
		}
	}
	slices.Sort(b.seeds)
	for _, m := range r.Task {
		b.maxStep = math.Max(b.maxStep, float64(m.Step))
	}
	for _, m := range r.Internal {
		b.maxStep = math.Max(b.maxStep, float64(m.Step))
	}
	b.families = pickFamilies(r.Internal, r.Transitions, opts.Families)

	p := page{Name: r.Spec.Name, Header: header(r), Notes: r.Notes}
	p.Families, p.SummaryMsg, p.CellNotes = summarize(r)
	switch {
	case !r.HasVerdicts:
		p.VerdictMsg = "No verdicts table yet: run phaseprobe analyze " + r.Dir + " to decide the verdicts."
	case len(r.Verdicts) == 0:
		p.VerdictMsg = "The verdicts table is empty: the analysis asked no question of this sweep."
	default:
		p.Groups = verdictGroups(r.Verdicts, opts.MaxVerdictRows)
	}
	p.Mirage = mirageTableOf(r, split)
	if i := slices.IndexFunc(p.Groups, func(g verdictGroup) bool { return g.ID == data.QuestionMirage }); i >= 0 {
		p.Groups[i].Mirage, p.Mirage = p.Mirage, nil
	}
	if err := b.placeFigures(ctx, &p); err != nil {
		return p, err
	}
	numberFigures(&p)
	for _, c := range r.Cells {
		shape := shapeOf(c.DModel, c.NLayers, c.NHeads)
		if c.Diverged >= 0 {
			p.Diverged = append(p.Diverged, cellRow{Cell: c.Cell, Shape: shape, Seed: fmt.Sprint(c.Seed), Step: fmt.Sprint(c.Diverged)})
		}
		if !c.HasMetrics {
			p.NoMetrics = append(p.NoMetrics, cellRow{Cell: c.Cell, Shape: shape, Seed: fmt.Sprint(c.Seed)})
		}
	}
	return p, nil
}

// mirageTableOf is the page's mirage table: the rows of the shown split (when the table has
// others too), or the message that says why there are none.
func mirageTableOf(r *run, split string) *mirageTable {
	mt := &mirageTable{}
	switch {
	case !r.HasMirage:
		mt.Msg = "No mirage table yet: run phaseprobe analyze " + r.Dir + " to test the scorings at the jump."
	case len(r.Mirage) == 0:
		mt.Msg = "The mirage table is empty: no shape has a capability jump whose scorings could be tested."
	default:
		rows := r.Mirage
		if slices.ContainsFunc(rows, func(m data.MirageRow) bool { return m.Split == split }) && slices.ContainsFunc(rows, func(m data.MirageRow) bool { return m.Split != split }) {
			rows = slices.DeleteFunc(slices.Clone(rows), func(m data.MirageRow) bool { return m.Split != split })
			mt.Note = fmt.Sprintf("Rows of the %s split; the other splits are in analysis/mirage.parquet.", split)
		}
		mt.Rows = mirageRowsOf(rows)
	}
	return mt
}

// placeFigures draws every figure and puts each beside the question it supports (the scale
// figure beside the task jump when there is no scale question); the others go to "More plots".
func (b *builder) placeFigures(ctx context.Context, p *page) error {
	type placed struct {
		question string
		draw     func() (figure, error)
	}
	noErr := func(f func() figure) func() (figure, error) { return func() (figure, error) { return f(), nil } }
	figs := []placed{
		{data.QuestionTaskJump, noErr(b.taskFigure)},
		{data.QuestionMirage, noErr(b.windowFigure)},
		{data.QuestionCoupling, noErr(b.couplingFigure)},
		{data.QuestionCoupling, noErr(b.internalFigure)},
		{data.QuestionScale, noErr(b.widthFigure)},
		{"", func() (figure, error) { return b.attentionFigure(ctx) }},
		{"", noErr(b.spectraFigure)},
	}
	for _, pf := range figs {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := pf.draw()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(p.Groups, func(g verdictGroup) bool { return g.ID == pf.question })
		if pf.question == data.QuestionScale && i < 0 {
			i = slices.IndexFunc(p.Groups, func(g verdictGroup) bool { return g.ID == data.QuestionTaskJump })
		}
		if i >= 0 {
			p.Groups[i].Figures = append(p.Groups[i].Figures, f)
		} else {
			p.Figures = append(p.Figures, f)
		}
	}
	return nil
}

// numberFigures numbers the figures in page order: the questions' first, then "More plots".
func numberFigures(p *page) {
	n := 0
	for i := range p.Groups {
		for j := range p.Groups[i].Figures {
			n++
			p.Groups[i].Figures[j].Num = n
		}
	}
	for j := range p.Figures {
		n++
		p.Figures[j].Num = n
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
