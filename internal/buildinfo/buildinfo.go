// Package buildinfo tells which source revision produced a result, so
// config files written next to results can name it.
package buildinfo

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Version is lsalign's release version.
const Version = "0.2.0-dev"

// Describe is the version line of --version: the release, the source
// revision (with "+modified" for uncommitted changes, "unknown" when
// neither the binary nor git knows) and the Go toolchain.
func Describe() string {
	rev, modified := Commit()
	switch {
	case rev == "":
		rev = "unknown"
	case modified:
		rev += "+modified"
	}
	return fmt.Sprintf("%s (git %s, %s, %s/%s)", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

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
