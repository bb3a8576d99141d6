package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// progress renders one line per running task on stderr (a bar, step, loss and ETA) and is the
// writer the logger writes through, so that the two never garble each other.
//
// On a terminal the bar lines are the last lines of the screen and are redrawn in place: a log
// line is written by moving the cursor up over the bars, clearing them, writing the log line and
// drawing the bars again below it; a finished task's line is printed once more and stays above
// the live ones. Bar lines are cut to the terminal's width so that none wraps (a wrapped line
// would throw off the cursor-up count). Elsewhere (a file, a pipe) nothing is redrawn: log lines
// pass through and the bars are printed as plain lines at most every few seconds.
//
// Every write happens under one mutex and only whole lines are written: a log write's unfinished
// last line is held until its newline arrives (or Flush).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	cols    func() int // the terminal's width, asked at every redraw (the window may be resized)
	lines   map[string]*progLine
	order   []string
	drawn   int // bar lines on screen below the cursor's line start (terminal only)
	last    time.Time
	period  time.Duration
	partial []byte // a log write's unfinished line
}

type progLine struct {
	label      string
	done, tot  int
	extra      string
	start      time.Time
	startCount int
	printed    bool // log mode: the final state was printed already
}

// newProgress returns a progress writing to w, in terminal mode when w is a terminal.
func newProgress(w io.Writer) *progress {
	_, tty := terminalWidth(w)
	p := &progress{w: w, tty: tty, lines: map[string]*progLine{}, period: 200 * time.Millisecond}
	p.cols = func() int {
		if c, ok := terminalWidth(w); ok && c > 0 {
			return c
		}
		return 80
	}
	if !tty {
		p.period = 10 * time.Second
	}
	return p
}

// progressOf returns the progress that stderr is (the process's, which the logger writes through
// too), or a new one writing to stderr.
func progressOf(stderr io.Writer) *progress {
	if p, ok := stderr.(*progress); ok {
		return p
	}
	return newProgress(stderr)
}

// Write writes log output: its complete lines go above the bars at once; an unfinished last line
// is held until the rest of it arrives. It never fails on its own; an error of the underlying
// writer is returned.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	i := bytes.LastIndexByte(p.partial, '\n')
	if i < 0 {
		return len(b), nil
	}
	whole := p.partial[:i+1]
	var out strings.Builder
	p.clear(&out)
	out.Write(whole)
	p.partial = append(p.partial[:0], p.partial[i+1:]...)
	if p.tty {
		p.bars(&out)
	}
	_, err := io.WriteString(p.w, out.String())
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// Flush writes a held unfinished log line, ended by a newline.
func (p *progress) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) == 0 {
		return
	}
	var out strings.Builder
	p.clear(&out)
	out.Write(p.partial)
	out.WriteByte('\n')
	p.partial = p.partial[:0]
	if p.tty {
		p.bars(&out)
	}
	io.WriteString(p.w, out.String())
}

// Update sets a task's progress (done of tot) with a free-text suffix such as the loss.
func (p *progress) Update(label string, done, tot int, extra string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.lines[label]
	if !ok {
		l = &progLine{label: label, start: time.Now(), startCount: done}
		p.lines[label] = l
		p.order = append(p.order, label)
	}
	l.done, l.tot, l.extra = done, tot, extra
	if time.Since(p.last) >= p.period || done == tot {
		p.draw()
	}
}

// Done removes a finished task's line, printing its final state once: on a terminal it stays on
// screen above the live bars.
func (p *progress) Done(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.lines[label]
	if !ok {
		return
	}
	var out strings.Builder
	p.clear(&out)
	if p.tty {
		out.WriteString(p.cut(l.render()))
		out.WriteByte('\n')
	} else if !l.printed || l.done < l.tot {
		out.WriteString(l.render())
		out.WriteByte('\n')
	}
	delete(p.lines, label)
	for i, s := range p.order {
		if s == label {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	if p.tty {
		p.bars(&out)
	}
	io.WriteString(p.w, out.String())
}

// draw prints the live lines: redrawn in place on a terminal, appended as plain lines otherwise.
func (p *progress) draw() {
	p.last = time.Now()
	var out strings.Builder
	if p.tty {
		p.clear(&out)
		p.bars(&out)
	} else {
		for _, label := range p.order {
			l := p.lines[label]
			out.WriteString(l.render())
			out.WriteByte('\n')
			l.printed = l.done >= l.tot
		}
	}
	io.WriteString(p.w, out.String())
}

// clear moves the cursor up to the first bar line and clears the screen from there (terminal
// only); the cursor then stands where the next permanent line goes.
func (p *progress) clear(out *strings.Builder) {
	if p.tty && p.drawn > 0 {
		fmt.Fprintf(out, "\r\x1b[%dA\x1b[J", p.drawn)
	}
	p.drawn = 0
}

// bars draws the live bar lines below the cursor (terminal only), each ended by a newline.
func (p *progress) bars(out *strings.Builder) {
	for _, label := range p.order {
		out.WriteString(p.cut(p.lines[label].render()))
		out.WriteByte('\n')
	}
	p.drawn = len(p.order)
}

// cut shortens a bar line to one column less than the terminal's width.
func (p *progress) cut(s string) string {
	n := max(p.cols()-1, 1)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func (l *progLine) render() string {
	const width = 24
	frac := 0.0
	if l.tot > 0 {
		frac = float64(l.done) / float64(l.tot)
	}
	filled := min(max(int(frac*width), 0), width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	eta := "?"
	if n := l.done - l.startCount; n > 0 && l.done < l.tot {
		per := time.Since(l.start) / time.Duration(n)
		eta = (per * time.Duration(l.tot-l.done)).Round(time.Second).String()
	} else if l.done >= l.tot {
		eta = "done"
	}
	return fmt.Sprintf("%-28s %s %6d/%-6d %s eta %s", l.label, bar, l.done, l.tot, l.extra, eta)
}
