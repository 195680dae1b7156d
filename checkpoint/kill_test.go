package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lsalign/lsalign/model"
)

var errKilled = errors.New("killed")

// TestKillAtEveryStage kills Save after each stage of its swap, starting
// from a normal checkpoint and from the state a previous kill between the
// renames leaves (only dir.old): a checkpoint, the old or the new one, is
// always readable, and the next Save completes.
func TestKillAtEveryStage(t *testing.T) {
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 16, Dim: 8, Layers: 1, Heads: 2, Hidden: 8, MaxSeq: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{"dir", "old only"} {
		for _, stage := range []string{stageRecovered, stageOldRemoved, stageDirMoved, stageTmpMoved} {
			dir := filepath.Join(t.TempDir(), "ckpt")
			if err := Save(dir, m, nil, State{Step: 1}); err != nil {
				t.Fatal(err)
			}
			if start == "old only" {
				if err := os.Rename(dir, dir+".old"); err != nil {
					t.Fatal(err)
				}
			}
			reached := false
			err := save(dir, m, nil, State{Step: 2}, func(s string) error {
				if s == stage {
					reached = true
					return errKilled
				}
				return nil
			})
			if !reached {
				if err != nil {
					t.Fatalf("from %s, no kill at %q: %v", start, stage, err)
				}
				continue // this start never passes that stage
			}
			_, _, st, err := Load(dir)
			if err != nil {
				t.Errorf("from %s, killed after %q: no readable checkpoint: %v", start, stage, err)
				continue
			}
			if want := 1 + btoi(stage == stageTmpMoved); st.Step != want {
				t.Errorf("from %s, killed after %q: step %d, want %d", start, stage, st.Step, want)
			}
			if err := Save(dir, m, nil, State{Step: 3}); err != nil {
				t.Fatalf("from %s, killed after %q: the next Save: %v", start, stage, err)
			}
			if _, _, st, err := Load(dir); err != nil || st.Step != 3 {
				t.Errorf("from %s, killed after %q: after the next Save, step %d, %v", start, stage, st.Step, err)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
