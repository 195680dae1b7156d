package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type settings struct {
	Ctx  int    `json:"ctx"`
	Text string `json:"text"`
}

type rec struct {
	Unit int     `json:"unit"`
	Sum  float64 `json:"sum"`
}

func TestJournalResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.jsonl")
	s := settings{Ctx: 512, Text: "emma.txt"}
	j, recs, notes, err := Open(path, "ppl", s, true) // resume with no file starts afresh
	if err != nil || len(recs) != 0 || len(notes) != 0 {
		t.Fatalf("new journal: %v, %d records, %v", err, len(recs), notes)
	}
	for i := range 3 {
		if err := j.Append(rec{i, float64(i) + 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	j, recs, notes, err = Open(path, "ppl", s, true)
	if err != nil || len(recs) != 3 || len(notes) != 0 {
		t.Fatalf("resume: %v, %d records, %v", err, len(recs), notes)
	}
	var r rec
	if err := json.Unmarshal(recs[2], &r); err != nil || r != (rec{2, 2.5}) {
		t.Fatalf("record 2 = %+v, %v", r, err)
	}
	if err := j.Append(rec{3, 3.5}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// Without resume the journal starts over.
	j, recs, _, err = Open(path, "ppl", s, false)
	if err != nil || len(recs) != 0 {
		t.Fatalf("fresh start: %v, %d records", err, len(recs))
	}
	j.Close()
	data, _ := os.ReadFile(path)
	if strings.Count(string(data), "\n") != 1 {
		t.Fatalf("fresh journal holds %q", data)
	}
}

func TestJournalCutsATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.jsonl")
	j, _, _, err := Open(path, "ppl", settings{Ctx: 8}, false)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(rec{0, 1})
	j.Append(rec{1, 2})
	j.Close()
	data, _ := os.ReadFile(path)
	torn := append(data, []byte(`{"unit":2,"su`)...)
	os.WriteFile(path, torn, 0o644)
	j, recs, notes, err := Open(path, "ppl", settings{Ctx: 8}, true)
	if err != nil || len(recs) != 2 || len(notes) != 1 || !strings.Contains(notes[0], "line 4 was incomplete") {
		t.Fatalf("torn line: %v, %d records, %v", err, len(recs), notes)
	}
	j.Append(rec{2, 3})
	j.Close()
	got, _ := os.ReadFile(path)
	if want := string(data) + `{"unit":2,"sum":3}` + "\n"; string(got) != want {
		t.Fatalf("after repair and append:\n%s\nwant\n%s", got, want)
	}
}

func TestJournalRefusesOtherWorkAndDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.jsonl")
	j, _, _, _ := Open(path, "ppl", settings{Ctx: 8, Text: "a"}, false)
	j.Append(rec{0, 1})
	j.Close()
	for _, tc := range []struct {
		kind string
		s    any
		want string
	}{
		{"misalign", settings{Ctx: 8, Text: "a"}, `records "ppl" work`},
		{"ppl", settings{Ctx: 16, Text: "a"}, "ctx (was 8, now 16)"},
		{"ppl", map[string]any{"ctx": 8}, "text (was \"a\", now unset)"},
	} {
		if _, _, _, err := Open(path, tc.kind, tc.s, true); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want %q", tc.kind, tc.s, err, tc.want)
		}
	}
	data, _ := os.ReadFile(path)
	for name, body := range map[string]string{
		"garbage in the middle": strings.Replace(string(data), `{"unit":0`, `{"unit":0,]`, 1) + `{"unit":1,"sum":2}` + "\n",
		"no header":             `{"unit":0,"sum":1}` + "\n",
		"empty":                 "",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(body), 0o644)
		if _, _, _, err := Open(p, "ppl", settings{Ctx: 8, Text: "a"}, true); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"journal":"ppl","settings":{"ctx":8,"text":"a"}}` + "\n" + `{"unit":0}` + "\n"))
	f.Add([]byte("{}\n{"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "j")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		j, recs, _, err := Open(p, "ppl", settings{Ctx: 8, Text: "a"}, true)
		if err != nil {
			return
		}
		defer j.Close()
		for _, r := range recs {
			if !json.Valid(r) {
				t.Fatalf("invalid record %q returned", r)
			}
		}
	})
}

func TestUnitLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.jsonl")
	j, recs, _, err := Open(path, "grid", settings{}, true)
	if err != nil {
		t.Fatal(err)
	}
	u := NewUnitLog(j, recs)
	if _, ok := u.Done(0); ok {
		t.Fatal("a new log has unit 0")
	}
	if err := u.Record(1, rec{1, 1}); err == nil {
		t.Fatal("unit 1 recorded before unit 0")
	}
	u.Record(0, rec{0, 7})
	u.Record(1, rec{1, 8})
	j.Close()
	j, recs, _, _ = Open(path, "grid", settings{}, true)
	defer j.Close()
	u = NewUnitLog(j, recs)
	raw, ok := u.Done(1)
	var r rec
	if !ok || json.Unmarshal(raw, &r) != nil || r.Sum != 8 || u.Len() != 2 {
		t.Fatalf("unit 1 after reopening: %s %v", raw, ok)
	}
	if _, ok := u.Done(2); ok || u.Record(2, rec{2, 9}) != nil || u.Len() != 3 {
		t.Fatal("appending after the resumed units")
	}
}
