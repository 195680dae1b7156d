package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// checkOutput makes dir if needed and fails, naming it, when a file cannot
// be created there or the file system has less than need bytes free, so a
// run stops before training rather than at its first checkpoint.
func checkOutput(dir string, need int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	_, werr := probe.Write([]byte("probe"))
	cerr := probe.Close()
	os.Remove(name)
	if werr != nil || cerr != nil {
		return fmt.Errorf("output directory %s: writing a probe file failed: %v", dir, errors.Join(werr, cerr))
	}
	free, ok := freeBytes(dir)
	if ok && free < uint64(need) {
		return fmt.Errorf("output directory %s: %s free, the run needs about %s (checkpoints, exports, metrics)",
			filepath.Clean(dir), byteSize(int64(free)), byteSize(need))
	}
	return nil
}

// byteSize formats a byte count for messages.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// diskNeed estimates the bytes a run writes at most at once: a checkpoint
// (weights and two AdamW moments, float32) twice over while Save swaps the
// old one out, the final model, each export, the metrics lines and slack.
func diskNeed(params int64, exports, steps int) int64 {
	ckpt := 12 * params
	return 2*ckpt + int64(1+exports)*4*params + int64(steps)*400 + 1<<20
}
