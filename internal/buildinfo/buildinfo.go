// Package buildinfo tells which source revision produced a result, so
// config files written next to results can name it.
package buildinfo

import (
	"context"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"
)

// Commit returns the git revision of the code, and whether the working tree
// had uncommitted changes. It prefers what Go stamped into the binary (go
// build inside a checkout); without that (go run, go test, -buildvcs=false)
// it asks git about the current directory. rev is "" when neither knows.
func Commit() (rev string, modified bool) {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			return rev, modified
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	rev = strings.TrimSpace(string(out))
	status, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	return rev, err == nil && len(strings.TrimSpace(string(status))) > 0
}
