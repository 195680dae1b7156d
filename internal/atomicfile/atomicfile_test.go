package atomicfile

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	for _, want := range []string{"first", "second, longer than the first"} {
		if err := Write(path, func(w io.Writer) error {
			_, err := io.WriteString(w, want)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("file holds %q, want %q", got, want)
		}
		onlyEntry(t, dir, "out.txt")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestWriteBytesLargerThanBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.bin")
	data := make([]byte, 3<<16+5)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := WriteBytes(path, data); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
}

func TestWriteRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WriteBytes("here.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	onlyEntry(t, ".", "here.txt")
}

func TestFailedFillKeepsTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("partial ", 1<<14)) // past the buffer: reaches the temporary file
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want boom wrapped with %s", err, path)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "old" {
		t.Fatalf("target holds %q after a failed write, want %q", got, "old")
	}
	onlyEntry(t, dir, "keep.txt")
}

func TestUnwritableDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "f.txt")
	if err := WriteBytes(missing, []byte("x")); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(filepath.Join(notDir, "f.txt"), []byte("x")); err == nil {
		t.Fatal("writing below a regular file succeeded")
	}
	if os.Geteuid() == 0 {
		return // root writes into read-only directories
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if err := WriteBytes(filepath.Join(dir, "f.txt"), []byte("x")); err == nil {
		t.Fatal("writing into a read-only directory succeeded")
	}
}

func TestFailedRenameRemovesTemporary(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "target"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "target", "inside"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(filepath.Join(dir, "target"), []byte("x")); err == nil {
		t.Fatal("renaming a file over a non-empty directory succeeded")
	}
	onlyEntry(t, dir, "target")
}

// onlyEntry fails unless dir holds exactly one entry, name: no temporary
// file is left behind.
func onlyEntry(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only %s", names, name)
	}
}

func TestWriteJSONMatchesMarshalIndent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	v := map[string]any{"b": []int{1, 2}, "a": "x<y", "c": map[string]float64{"d": 0.5}}
	if err := WriteJSON(path, v); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want)+"\n" {
		t.Fatalf("file holds\n%s\nwant\n%s", got, want)
	}
	if err := WriteJSON(path, func() {}); err == nil {
		t.Fatal("WriteJSON of a func succeeded")
	}
	if got2, _ := os.ReadFile(path); string(got2) != string(got) {
		t.Fatal("a failed WriteJSON changed the file")
	}
}
