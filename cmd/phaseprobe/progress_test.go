package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestProgressLogMode: writing to a file or pipe (not a terminal), progress prints plain lines,
// throttled, always including the final state exactly once, with step, total, extra text and ETA.
func TestProgressLogMode(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	if p.tty {
		t.Fatal("a bytes.Buffer is not a terminal")
	}
	for i := 1; i <= 50; i++ {
		p.Update("cell-a", i, 50, "loss 0.5")
	}
	p.Done("cell-a")
	out := buf.String()
	if strings.Contains(out, "\x1b[") {
		t.Errorf("log mode wrote terminal escapes: %q", out)
	}
	if n := strings.Count(out, "50/50"); n != 1 {
		t.Errorf("final state printed %d times, want once:\n%s", n, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 3 { // the first update, maybe one throttled one, the last
		t.Errorf("%d lines for 50 quick updates; want throttling:\n%s", len(lines), out)
	}
	last := lines[len(lines)-1]
	for _, want := range []string{"cell-a", "50/50", "loss 0.5", "eta done"} {
		if !strings.Contains(last, want) {
			t.Errorf("last line %q lacks %q", last, want)
		}
	}
}

// screen is a pty-less fake terminal: it interprets what progress writes (printable text,
// "\r", "\n" as carriage return plus line feed, cursor up "ESC[nA", clear to the end of the line
// "ESC[K" and of the screen "ESC[J") into the lines a terminal would show, scrollback included.
// Anything else, or a cursor move above the first line, is an error.
type screen struct {
	mu       sync.Mutex
	rows     [][]rune
	row, col int
	err      error
}

func (s *screen) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := []rune(string(b))
	for i := 0; i < len(r); i++ {
		for len(s.rows) <= s.row {
			s.rows = append(s.rows, nil)
		}
		switch c := r[i]; {
		case c == '\r':
			s.col = 0
		case c == '\n':
			s.row, s.col = s.row+1, 0
		case c == 0x1b:
			j := i + 1
			if j >= len(r) || r[j] != '[' {
				s.fail("a lone escape at %d of %q", i, string(b))
				return len(b), nil
			}
			j++
			k := j
			for k < len(r) && r[k] >= '0' && r[k] <= '9' {
				k++
			}
			if k >= len(r) {
				s.fail("an unfinished escape in %q", string(b))
				return len(b), nil
			}
			n := 1
			if k > j {
				n, _ = strconv.Atoi(string(r[j:k]))
			}
			switch r[k] {
			case 'A':
				if n > s.row {
					s.fail("cursor up %d from row %d", n, s.row)
				}
				s.row = max(s.row-n, 0)
			case 'K':
				s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
			case 'J':
				s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
				s.rows = s.rows[:s.row+1]
			default:
				s.fail("unexpected escape %q", string(r[i:k+1]))
			}
			i = k
		case c < ' ':
			s.fail("control character %q", c)
		default:
			line := s.rows[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = c
			s.rows[s.row] = line
			s.col++
		}
	}
	return len(b), nil
}

func (s *screen) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

// lines returns the screen's lines, the cursor's (empty) line excluded.
func (s *screen) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i, r := range s.rows {
		if i == s.row && len(r) == 0 {
			continue
		}
		out = append(out, string(r))
	}
	return out
}

// terminalProgress is a progress in terminal mode on a fake screen of the given width that
// redraws at every update.
func terminalProgress(cols int) (*progress, *screen) {
	s := &screen{}
	p := newProgress(s)
	p.tty, p.period = true, 0
	p.cols = func() int { return cols }
	return p, s
}

// TestProgressTerminalLogAbove: on a terminal, a log line written while bars are live appears
// above them and the bars are redrawn below it, each once; a finished bar stays above the live
// ones, whichever of them finishes first; bar lines longer than the terminal are cut short.
func TestProgressTerminalLogAbove(t *testing.T) {
	p, s := terminalProgress(72)
	log := slog.New(slog.NewTextHandler(p, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	p.Update("cell-a", 1, 10, "loss 2.0")
	p.Update("cell-b", 1, 10, "loss 2.1")
	log.Info("cell diverged", "cell", "x")
	got := s.lines()
	want := []string{`level=INFO msg="cell diverged" cell=x`, "cell-a", "cell-b"}
	if len(got) != len(want) {
		t.Fatalf("screen after a log line:\n%s\nwant %d lines", strings.Join(got, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("line %d = %q, want it to start with %q", i, got[i], w)
		}
	}
	p.Update("cell-b", 10, 10, "loss 0.1")
	p.Done("cell-b") // the second of two bars finishes first
	log.Info("ensemble trained")
	p.Update("cell-a", 5, 10, "loss 1.0")
	got = s.lines()
	if len(got) != 4 || !strings.HasPrefix(got[1], "cell-b") || !strings.Contains(got[1], "10/10") ||
		!strings.HasPrefix(got[2], `level=INFO msg="ensemble trained"`) || !strings.HasPrefix(got[3], "cell-a") || !strings.Contains(got[3], "5/10") {
		t.Errorf("screen after cell-b finished, a log line and an update of cell-a:\n%s", strings.Join(got, "\n"))
	}
	for i, l := range got {
		if strings.HasPrefix(l, "cell-") && len([]rune(l)) > 71 {
			t.Errorf("bar line %d has %d columns on a 72-column terminal: %q", i, len([]rune(l)), l)
		}
	}
	if s.err != nil {
		t.Error(s.err)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// logLine is a record of the concurrent tests' loggers, as slog's text handler writes it.
var logLine = regexp.MustCompile(`^level=INFO msg="cell diverged" logger=(\d+) n=(\d+) note="[a-z ]+"$`)

// hammer runs bars goroutines updating bars and loggers goroutines logging through p at once,
// each logger writing records records, every bar finishing with Done.
func hammer(p *progress, bars, loggers, records, steps int) {
	log := slog.New(slog.NewTextHandler(p, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	var wg sync.WaitGroup
	for b := range bars {
		wg.Go(func() {
			label := fmt.Sprintf("ensemble-%d", b)
			for i := 1; i <= steps; i++ {
				p.Update(label, i, steps, fmt.Sprintf("loss %.4f", 1/float64(i)))
			}
			p.Done(label)
		})
	}
	for g := range loggers {
		wg.Go(func() {
			for n := range records {
				log.Info("cell diverged", "logger", g, "n", n, "note", "a long note that makes the record wider than a bar line")
			}
		})
	}
	wg.Wait()
}

// TestProgressTerminalConcurrent interleaves log records with bar updates from several goroutines
// (run it with -race) on a fake terminal and checks the screen: every record appears whole, once,
// on a line of its own; no bar fragment is glued to a log line; every finished bar's final line
// appears exactly once and no stale bar line is left.
func TestProgressTerminalConcurrent(t *testing.T) {
	const bars, loggers, records, steps = 3, 3, 200, 300
	p, s := terminalProgress(100)
	hammer(p, bars, loggers, records, steps)
	if s.err != nil {
		t.Fatal(s.err)
	}
	checkInterleaved(t, s.lines(), bars, loggers, records, steps, true)
}

// TestProgressPlainConcurrent is the same on a writer that is not a terminal: no escapes or
// carriage returns, and every line is whole.
func TestProgressPlainConcurrent(t *testing.T) {
	const bars, loggers, records, steps = 3, 3, 200, 300
	s := &screen{}
	p := newProgress(s)
	p.period = 0 // print at every update, the worst case for interleaving
	hammer(p, bars, loggers, records, steps)
	if s.err != nil {
		t.Fatal(s.err)
	}
	lines := s.lines()
	for _, l := range s.rows {
		if strings.ContainsAny(string(l), "\r\x1b") {
			t.Fatalf("plain mode wrote a control sequence: %q", string(l))
		}
	}
	// In plain mode every printed bar state stays; keep the first and the final line of each bar.
	var kept []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "ensemble-") || strings.Contains(l, "eta done") {
			kept = append(kept, l)
		}
	}
	checkInterleaved(t, kept, bars, loggers, records, steps, false)
}

// checkInterleaved checks the final lines of a concurrent run: each is either a whole log record
// or a whole final bar line; each record appears exactly once, and each final bar line exactly
// once when once (on a terminal) or at least once (plain mode prints the live lines' states,
// finished ones included, at every print until Done).
func checkInterleaved(t *testing.T, lines []string, bars, loggers, records, steps int, once bool) {
	t.Helper()
	seen := map[string]int{}
	barLine := regexp.MustCompile(fmt.Sprintf(`^ensemble-(\d+) +[█░]{24} +%d/%-6d loss 0\.0033 eta done$`, steps, steps))
	bad := 0
	for _, l := range lines {
		switch {
		case logLine.MatchString(l):
			m := logLine.FindStringSubmatch(l)
			seen["log "+m[1]+" "+m[2]]++
		case barLine.MatchString(l):
			seen["bar "+barLine.FindStringSubmatch(l)[1]]++
		default:
			bad++
			if bad <= 5 {
				t.Errorf("line is neither a whole log record nor a whole final bar line: %q", l)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d lines garbled", bad, len(lines))
	}
	for g := range loggers {
		for n := range records {
			if k := seen[fmt.Sprintf("log %d %d", g, n)]; k != 1 {
				t.Errorf("record %d of logger %d appears %d times", n, g, k)
			}
		}
	}
	for b := range bars {
		if k := seen[fmt.Sprintf("bar %d", b)]; k == 0 || once && k != 1 {
			t.Errorf("final line of bar %d appears %d times", b, k)
		}
	}
}

// TestProgressPartialWrite: a log write without its newline is held until the newline comes (no
// bar is drawn into the middle of it), and Flush writes a dangling one.
func TestProgressPartialWrite(t *testing.T) {
	p, s := terminalProgress(100)
	p.Update("cell-a", 1, 10, "")
	p.Write([]byte("first half, "))
	p.Update("cell-a", 2, 10, "")
	p.Write([]byte("second half\nno newline"))
	p.Update("cell-a", 3, 10, "")
	p.Flush()
	got := s.lines()
	if len(got) != 3 || got[0] != "first half, second half" || got[1] != "no newline" || !strings.HasPrefix(got[2], "cell-a") || !strings.Contains(got[2], "3/10") {
		t.Errorf("screen:\n%s", strings.Join(got, "\n"))
	}
	if s.err != nil {
		t.Error(s.err)
	}
}
