package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBabilongCommand(t *testing.T) {
	dir := tinyModelDir(t, 128)
	babi := t.TempDir()
	for name, body := range map[string]string{
		"qa1_single_test.txt": "1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n",
		"qa4_rel_test.txt":    "1 The garden is west of the office.\n2 What is west of the office?\tgarden\t1\n",
		"README.txt":          "not a task",
	} {
		if err := os.WriteFile(filepath.Join(babi, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bg := filepath.Join(t.TempDir(), "book.txt")
	if err := os.WriteFile(bg, []byte(strings.Repeat("It was a bright cold day. The clocks were striking. ", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"babilong", "--model", dir, "--babi", babi, "--background", bg, "--lengths", "200,1x",
		"--depths", "0,0.5", "--trials", "2", "--png", "", "--json"}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var g gridJSON
	lastJSON(t, out, &g)
	// 2 trials per task × 2 tasks per cell.
	if g.Task != "babilong" || len(g.Cells) != 4 || g.Cells[0].Trials != 4 || len(g.Trials) != 16 || len(g.ByTask) != 2 {
		t.Fatalf("grid %+v", g)
	}
	for _, tr := range g.Trials {
		// Background sentences are at most 27 bytes: the prompt fills the length up to one of them.
		if (tr.Task == "qa1") != (tr.Answer == "bathroom") || (tr.Task == "qa4") != (tr.Answer == "garden") ||
			tr.PromptTokens > tr.Length || tr.PromptTokens < tr.Length-28 {
			t.Fatalf("trial %+v", tr)
		}
	}
	_, again, _ := runCLI(t, args...)
	if again != out {
		t.Fatal("the same seed gave different results")
	}
	// Trial counts are stated per task, and a length no question fits in is skipped.
	code, out, errs = runCLI(t, "babilong", "--model", dir, "--babi", babi, "--background", bg, "--lengths", "20,200",
		"--depths", "0", "--trials", "1", "--png", "")
	for _, want := range []string{"1 trial per task and cell (2 tasks: 2 per cell)", "skipped length 20, depth 0: the prompt without filler already has"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d (%s): no %q in\n%s", code, errs, want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--babi", babi}, 2, "--background"},
		{[]string{"--babi", t.TempDir(), "--background", bg}, 1, "no qa*.txt"},
		{[]string{"--babi", babi, "--background", bg, "--spread", "2"}, 2, "--spread"},
	} {
		code, _, errs := runCLI(t, append([]string{"babilong", "--model", dir, "--png", ""}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
