package main

import (
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	code, out, errs := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "lsalign 0.") || !strings.Contains(out, "(git ") {
		t.Fatalf("--version: exit %d, %q %q", code, out, errs)
	}
}
