package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/journal"
)

// evalOut is an evaluation command's output folder (--out): the results
// as JSON, its figures, and one journal per measurement holding every
// finished unit (batch of windows, group of samples, trial, variant), so
// that --resume continues a killed run and ends with the same numbers.
type evalOut struct {
	dir      string
	resume   bool
	journals []*journal.Journal
}

// runsEnv names the folder that commands' default output folders go in
// (runs/ when unset).
const runsEnv = "LSALIGN_RUNS"

// defaultRunDir is the default --out of command name: runs/NAME, or
// $LSALIGN_RUNS/NAME.
func defaultRunDir(name string) string {
	base := os.Getenv(runsEnv)
	if base == "" {
		base = "runs"
	}
	return filepath.Join(base, name)
}

// addEvalOutFlags adds --out (default runs/NAME) and --resume.
func addEvalOutFlags(cmd *cobra.Command, e *evalOut, name string) {
	f := cmd.Flags()
	f.StringVar(&e.dir, "out", defaultRunDir(name), "folder for results.json, figures and the resume journal ($"+runsEnv+"/"+name+" when set)")
	f.BoolVar(&e.resume, "resume", false, "continue an interrupted run from the journal in --out (same settings required)")
}

// prepare creates the folder.
func (e *evalOut) prepare() error {
	if e.dir == "" {
		return usagef("--out must name a folder")
	}
	return os.MkdirAll(e.dir, 0o755)
}

// path is a file in the folder.
func (e *evalOut) path(name string) string { return filepath.Join(e.dir, name) }

// units opens the journal NAME.journal.jsonl for work whose results the
// settings decide, telling on stderr what a resume found.
func (e *evalOut) units(stderr io.Writer, name string, settings any) (journal.Units, error) {
	path := e.path(name + ".journal.jsonl")
	j, recs, notes, err := journal.Open(path, name, settings, e.resume)
	if err != nil {
		return nil, err
	}
	e.journals = append(e.journals, j)
	for _, n := range notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	if e.resume && len(recs) > 0 {
		fmt.Fprintf(stderr, "%s: resuming after %d finished units in %s\n", name, len(recs), path)
	}
	return journal.NewUnitLog(j, recs), nil
}

// writeResults writes v as results.json.
func (e *evalOut) writeResults(v any) error { return atomicfile.WriteJSON(e.path("results.json"), v) }

// close closes the journals.
func (e *evalOut) close() {
	for _, j := range e.journals {
		j.Close()
	}
	e.journals = nil
}

// fileStamp identifies an input file's version for a journal's settings:
// its path, size and modification time (hashing a multi-gigabyte model on
// every run would cost more than the check is worth).
type fileStamp struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

func stampOf(path string) fileStamp {
	s := fileStamp{Path: path}
	if st, err := os.Stat(path); err == nil {
		s.Size, s.ModTime = st.Size(), st.ModTime().UTC()
	}
	return s
}

// tokensDigest is a SHA-256 of tokenized documents: the text as the model
// sees it, whatever file it came from.
func tokensDigest(docs [][]int32) string {
	h := sha256.New()
	var b [4]byte
	for _, d := range docs {
		binary.LittleEndian.PutUint32(b[:], uint32(len(d)))
		h.Write(b[:])
		for _, t := range d {
			binary.LittleEndian.PutUint32(b[:], uint32(t))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
