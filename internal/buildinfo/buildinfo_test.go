package buildinfo

import (
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestCommitInCheckout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if err := exec.Command("git", "rev-parse", "HEAD").Run(); err != nil {
		t.Skip("not inside a git checkout with commits")
	}
	rev, _ := Commit()
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(rev) {
		t.Fatalf("Commit() = %q, want a 40-hex revision", rev)
	}
}

func TestDescribe(t *testing.T) {
	d := Describe()
	if !strings.HasPrefix(d, Version+" (git ") || !strings.Contains(d, runtime.Version()) {
		t.Fatalf("Describe() = %q", d)
	}
}
