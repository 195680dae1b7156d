package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// decoder reads the header sequentially, tracking its offset so that every
// length can be checked against the bytes left before allocating.
type decoder struct {
	name    string
	br      *bufio.Reader
	pos     int64
	size    int64
	scratch [8]byte
}

func (d *decoder) errorf(field, format string, args ...any) error {
	return &FormatError{File: d.name, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) left() int64 { return d.size - d.pos }

// fits checks that n items of at least unit bytes each can still be in the
// file.
func (d *decoder) fits(n uint64, unit int64, field string) error {
	if n > uint64(d.left())/uint64(unit) {
		return d.errorf(field, "%d exceeds what the %d bytes left in the file can hold", n, d.left())
	}
	return nil
}

// bytes reads n ≤ 8 bytes into the scratch buffer.
func (d *decoder) bytes(n int, field string) ([]byte, error) {
	b := d.scratch[:n]
	if err := d.full(b, field); err != nil {
		return nil, err
	}
	return b, nil
}

func (d *decoder) full(b []byte, field string) error {
	if int64(len(b)) > d.left() {
		return d.errorf(field, "unexpected end of file at offset %d", d.size)
	}
	if _, err := io.ReadFull(d.br, b); err != nil {
		return d.errorf(field, "read at offset %d: %v", d.pos, err)
	}
	d.pos += int64(len(b))
	return nil
}

func (d *decoder) u32(field string) (uint32, error) {
	b, err := d.bytes(4, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(field string) (uint64, error) {
	b, err := d.bytes(8, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a length-prefixed string of at most maxLen bytes (0: no limit
// but the file size).
func (d *decoder) str(field string, maxLen uint64) (string, error) {
	n, err := d.u64(field + " length")
	if err != nil {
		return "", err
	}
	if maxLen > 0 && n > maxLen {
		return "", d.errorf(field+" length", "%d exceeds %d", n, maxLen)
	}
	if err := d.fits(n, 1, field+" length"); err != nil {
		return "", err
	}
	b := make([]byte, n)
	if err := d.full(b, field); err != nil {
		return "", err
	}
	return string(b), nil
}
