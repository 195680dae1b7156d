package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// console is the stream messages and progress go to (stderr), carrying the
// global --quiet and --progress-every settings; the root command installs
// it before any subcommand runs.
type console struct {
	io.Writer
	quiet bool
	every time.Duration // between progress lines when not on a terminal
}

// defaultProgressEvery is --progress-every's default.
const defaultProgressEvery = 10 * time.Second

// consoleOf returns w's settings, or the defaults for a plain writer.
func consoleOf(w io.Writer) console {
	if c, ok := w.(*console); ok {
		return *c
	}
	return console{Writer: w, every: defaultProgressEvery}
}

// isTerminal reports whether w is a terminal: progress bars go there, and
// logs and pipes get periodic lines.
func isTerminal(w io.Writer) bool {
	if c, ok := w.(*console); ok {
		w = c.Writer
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress reports one long task: a bar with the ETA and a running value
// on a terminal; elsewhere (logs, CI) a line every --progress-every and
// one at the end; nothing with --quiet.
type progress struct {
	w           io.Writer
	desc, unit  string // "ppl @512", "windows"
	value       string // the running value's name ("nll"), "" for none
	bar         *progressbar.ProgressBar
	every       time.Duration
	start, last time.Time
}

// newProgress returns a progress callback for done of total units, or nil
// with --quiet.
func newProgress(w io.Writer, desc string) func(done, total int) {
	p := startProgress(w, desc, "", "")
	if p == nil {
		return nil
	}
	return func(done, total int) { p.update(done, total, math.NaN()) }
}

// newValueProgress is newProgress with a running value (the mean so far).
func newValueProgress(w io.Writer, desc, unit, value string) func(done, total int, v float64) {
	p := startProgress(w, desc, unit, value)
	if p == nil {
		return nil
	}
	return p.update
}

func startProgress(w io.Writer, desc, unit, value string) *progress {
	c := consoleOf(w)
	if c.quiet {
		return nil
	}
	now := time.Now()
	return &progress{w: c.Writer, desc: desc, unit: unit, value: value, every: c.every, start: now, last: now}
}

func (p *progress) update(done, total int, v float64) {
	if isTerminal(p.w) {
		p.draw(done, total, v)
		return
	}
	now := time.Now()
	if done < total && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	fmt.Fprintln(p.w, p.line(done, total, v, now))
}

// draw updates the terminal bar.
func (p *progress) draw(done, total int, v float64) {
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(p.desc),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
	}
	if p.value != "" && !math.IsNaN(v) {
		p.bar.Describe(fmt.Sprintf("%s  %s %.4f", p.desc, p.value, v))
	}
	p.bar.Set(done)
	if done == total {
		p.bar.Finish()
		p.bar = nil
	}
}

// line is one progress line for logs: "ppl @512: 58/117 windows (50%),
// nll 3.8123, 34s elapsed, ETA 34s".
func (p *progress) line(done, total int, v float64, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d", p.desc, done, total)
	if p.unit != "" {
		b.WriteString(" " + p.unit)
	}
	if total > 0 {
		fmt.Fprintf(&b, " (%.0f%%)", 100*float64(done)/float64(total))
	}
	if p.value != "" && !math.IsNaN(v) {
		fmt.Fprintf(&b, ", %s %.4f", p.value, v)
	}
	elapsed := now.Sub(p.start)
	fmt.Fprintf(&b, ", %s elapsed", elapsed.Round(time.Second))
	if done > 0 && done < total {
		eta := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	return b.String()
}
