package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLinesOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	con := &console{Writer: &buf, every: time.Hour}
	p := newValueProgress(con, "ppl @512", "windows", "nll")
	p(1, 4, 3.5) // within the interval: silent
	p(2, 4, 3.25)
	if buf.Len() != 0 {
		t.Fatalf("printed before the interval: %q", buf.String())
	}
	p(4, 4, 3.125) // the end always prints
	got := buf.String()
	if !strings.HasPrefix(got, "ppl @512: 4/4 windows (100%), nll 3.1250, ") || strings.Count(got, "\n") != 1 || strings.Contains(got, "ETA") {
		t.Fatalf("final line %q", got)
	}
	buf.Reset()
	con.every = time.Nanosecond
	p = newValueProgress(con, "kld", "windows", "kld")
	time.Sleep(time.Millisecond)
	p(1, 4, 0.5)
	if l := buf.String(); !strings.Contains(l, "kld: 1/4 windows (25%), kld 0.5000, ") || !strings.Contains(l, "ETA") {
		t.Fatalf("periodic line %q", l)
	}
	buf.Reset()
	newProgress(con, "passkey")(2, 3)
	if l := buf.String(); !strings.HasPrefix(l, "passkey: 2/3 (67%), ") {
		t.Fatalf("count-only line %q", l)
	}
	if newProgress(&console{Writer: &buf, quiet: true}, "x") != nil || newValueProgress(&console{Writer: &buf, quiet: true}, "x", "", "") != nil {
		t.Fatal("--quiet still reports progress")
	}
}

func TestQuietAndProgressEveryFlags(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 300)
	code, _, errs := runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16", "--progress-every", "1ns")
	if code != 0 || !strings.Contains(errs, "ppl @16: 18/18 windows (100%), nll ") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16", "--quiet")
	if code != 0 || strings.Contains(errs, "windows") {
		t.Fatalf("--quiet: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := runCLI(t, "ppl", "--model", dir, "--text", text, "--ctx", "16", "--progress-every", "0s"); code != 2 {
		t.Fatalf("--progress-every 0s: exit %d, want 2", code)
	}
}
