// Package journal keeps the finished units of a long evaluation (windows,
// samples, trials, variants) in an append-only JSON Lines file, so that a
// killed run resumes where it stopped and ends with the same result as an
// uninterrupted one.
//
// The first line is a header naming the kind of work and the settings that
// decide its results; every later line is one unit's record, in unit order.
// Each record is written and synced before the next unit starts, so a kill
// loses at most the unit in flight, and a torn last line is cut off on
// resume.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
)

// MaxLine bounds one line of a journal (64 MiB): records are small, so a
// longer line is damage, not data.
const MaxLine = 64 << 20

// Journal appends records to an open journal file. Not safe for concurrent
// use.
type Journal struct {
	f    *os.File
	path string
}

type header struct {
	Journal  string          `json:"journal"` // the kind of work
	Settings json.RawMessage `json:"settings"`
}

// Open opens the journal at path for work of the given kind and settings
// (any JSON-encodable value). Without resume it starts a new journal,
// replacing any file there. With resume it requires an existing journal
// with the same kind and settings and returns its records in order, with
// notes for what it repaired (a torn last line); a missing file starts a
// new journal.
func Open(path, kind string, settings any, resume bool) (*Journal, []json.RawMessage, []string, error) {
	js, err := json.Marshal(settings)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("journal %s: settings: %w", path, err)
	}
	if resume {
		switch _, err := os.Stat(path); {
		case err == nil:
			return reopen(path, kind, js)
		case !errors.Is(err, os.ErrNotExist):
			return nil, nil, nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, nil, err
	}
	j := &Journal{f: f, path: path}
	if err := j.Append(header{Journal: kind, Settings: js}); err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return j, nil, nil, nil
}

// reopen reads an existing journal, checks its header, cuts a torn last
// line and leaves the file open for appending.
func reopen(path, kind string, settings []byte) (*Journal, []json.RawMessage, []string, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	j := &Journal{f: f, path: path}
	recs, good, notes, err := j.read(kind, settings)
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return j, recs, notes, nil
}

// read parses the journal and returns its records and the byte length of
// its complete lines.
func (j *Journal) read(kind string, settings []byte) ([]json.RawMessage, int64, []string, error) {
	st, err := j.f.Stat()
	if err != nil {
		return nil, 0, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, nil, fmt.Errorf("journal %s: not a regular file", j.path)
	}
	r := bufio.NewReaderSize(j.f, 1<<16)
	var recs []json.RawMessage
	var notes []string
	var good int64
	for n := 1; ; n++ {
		line, err := readLine(r)
		if err == io.EOF && len(line) == 0 {
			break
		}
		complete := err == nil
		if err != nil && err != io.EOF {
			return nil, 0, nil, fmt.Errorf("journal %s: line %d: %w", j.path, n, err)
		}
		if !complete {
			// Only the last line can lack its newline: a kill tore it while
			// it was written. Drop it; its unit runs again.
			notes = append(notes, fmt.Sprintf("%s: line %d was incomplete (the run was interrupted while writing it); it is dropped and its unit runs again", j.path, n))
			break
		}
		if !json.Valid(line) {
			return nil, 0, nil, fmt.Errorf("journal %s: line %d is not valid JSON", j.path, n)
		}
		if n == 1 {
			if err := checkHeader(line, kind, settings); err != nil {
				return nil, 0, nil, fmt.Errorf("journal %s: %w", j.path, err)
			}
		} else {
			recs = append(recs, json.RawMessage(slices.Clone(line)))
		}
		good += int64(len(line)) + 1
	}
	if good == 0 {
		return nil, 0, nil, fmt.Errorf("journal %s: empty: no header line", j.path)
	}
	return recs, good, notes, nil
}

// readLine returns one line without its newline, refusing lines beyond
// MaxLine; io.EOF with a non-empty line means the line had no newline.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			return nil, fmt.Errorf("longer than %d bytes", MaxLine)
		}
		switch err {
		case nil:
			return buf[:len(buf)-1], nil
		case bufio.ErrBufferFull:
			continue
		default:
			return buf, err
		}
	}
}

// checkHeader compares a journal's header with the run's kind and settings
// and names the settings that differ.
func checkHeader(line []byte, kind string, settings []byte) error {
	var h header
	if err := json.Unmarshal(line, &h); err != nil || h.Journal == "" {
		return fmt.Errorf("line 1 is not a journal header")
	}
	if h.Journal != kind {
		return fmt.Errorf("it records %q work, this run does %q", h.Journal, kind)
	}
	if bytes.Equal(compact(h.Settings), compact(settings)) {
		return nil
	}
	var was, now map[string]json.RawMessage
	if json.Unmarshal(h.Settings, &was) != nil || json.Unmarshal(settings, &now) != nil {
		return fmt.Errorf("it was made with other settings")
	}
	var diff []string
	for k, v := range now {
		if w, ok := was[k]; !ok || !bytes.Equal(compact(w), compact(v)) {
			diff = append(diff, fmt.Sprintf("%s (was %s, now %s)", k, orNone(was[k]), compact(v)))
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s (was %s, now unset)", k, compact(was[k])))
		}
	}
	sort.Strings(diff)
	return fmt.Errorf("it was made with other settings: %v; start afresh without --resume or use another output folder", diff)
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func orNone(b json.RawMessage) string {
	if b == nil {
		return "unset"
	}
	return string(compact(b))
}

// Append writes one record as a line and syncs it to disk.
func (j *Journal) Append(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return j.f.Sync()
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// Units lets an evaluation skip the units a journal already holds and
// record the others, numbered 0, 1, 2, ... in the order they finish.
type Units interface {
	// Done returns unit i's record if an earlier run finished it.
	Done(i int) (json.RawMessage, bool)
	// Record keeps unit i's record; units are recorded in order.
	Record(i int, rec any) error
}

// UnitLog is Units over a journal and the records it was opened with.
type UnitLog struct {
	j    *Journal
	recs []json.RawMessage
}

// NewUnitLog numbers the records of an opened journal as units 0, 1, ...
// and appends new units after them.
func NewUnitLog(j *Journal, recs []json.RawMessage) *UnitLog { return &UnitLog{j: j, recs: recs} }

// Done implements Units.
func (u *UnitLog) Done(i int) (json.RawMessage, bool) {
	if i < 0 || i >= len(u.recs) {
		return nil, false
	}
	return u.recs[i], true
}

// Record implements Units.
func (u *UnitLog) Record(i int, rec any) error {
	if i != len(u.recs) {
		return fmt.Errorf("journal %s: unit %d recorded out of order (next is %d)", u.j.path, i, len(u.recs))
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal %s: %w", u.j.path, err)
	}
	if err := u.j.Append(json.RawMessage(b)); err != nil {
		return err
	}
	u.recs = append(u.recs, b)
	return nil
}

// Len is how many units the journal holds: those it was opened with and
// those recorded since.
func (u *UnitLog) Len() int { return len(u.recs) }
