package gguf

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/half"
)

// allTypesKVs has one entry of every metadata type, scalars and arrays.
func allTypesKVs() []KV {
	return []KV{
		{"general.architecture", "llama"},
		{"t.u8", uint8(200)},
		{"t.i8", int8(-100)},
		{"t.u16", uint16(60000)},
		{"t.i16", int16(-30000)},
		{"t.u32", uint32(4000000000)},
		{"t.i32", int32(-2000000000)},
		{"t.f32", float32(1.5)},
		{"t.bool", true},
		{"t.str", "héllo ▁ wörld"},
		{"t.u64", uint64(1) << 63},
		{"t.i64", int64(-1) << 62},
		{"t.f64", math.Pi},
		{"t.empty", ""},
		{"a.u8", []uint8{1, 2, 255}},
		{"a.i8", []int8{-1, 0, 127}},
		{"a.u16", []uint16{7, 65535}},
		{"a.i16", []int16{-32768, 5}},
		{"a.u32", []uint32{1, 2, 3}},
		{"a.i32", []int32{-5, 6}},
		{"a.f32", []float32{0.25, -3}},
		{"a.bool", []bool{true, false, true}},
		{"a.str", []string{"a", "", "ccc"}},
		{"a.u64", []uint64{math.MaxUint64}},
		{"a.i64", []int64{math.MinInt64}},
		{"a.f64", []float64{-0.5}},
		{"a.empty", []int32{}},
		{"a.nested", []any{[]int32{1, 2}, []string{"x"}, []any{[]bool{false}}}},
	}
}

func writeToBytes(t *testing.T, kvs []KV, tensors []WriterTensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, kvs, tensors); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readBytes(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := Read(bytes.NewReader(b), int64(len(b)), "test.gguf")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	f32 := []float32{1, -2, 3.5, 0, 1e-3, -65504}
	tensors := []WriterTensor{
		{Name: "w.f32", Dims: []uint64{3, 2}, Type: TypeF32, Data: f32},
		{Name: "w.f16", Dims: []uint64{6}, Type: TypeF16, Data: f32},
		{Name: "w.bf16", Dims: []uint64{2, 1, 3}, Type: TypeBF16, Data: f32},
		{Name: "scalar", Dims: nil, Type: TypeF32, Data: []float32{42}},
	}
	kvs := allTypesKVs()
	f := readBytes(t, writeToBytes(t, kvs, tensors))
	if f.Version != 3 || f.Alignment != 32 {
		t.Errorf("version %d alignment %d, want 3 and 32", f.Version, f.Alignment)
	}
	if !reflect.DeepEqual(f.KV, kvs) {
		t.Errorf("metadata differs:\n got %#v\nwant %#v", f.KV, kvs)
	}
	for _, kv := range kvs {
		if v, ok := f.Value(kv.Key); !ok || !reflect.DeepEqual(v, kv.Value) {
			t.Errorf("Value(%q) = %#v, %v", kv.Key, v, ok)
		}
	}
	if len(f.Tensors) != len(tensors) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tensors))
	}
	for i, wt := range tensors {
		ti := f.Tensors[i]
		if ti.Name != wt.Name || ti.Type != wt.Type || len(ti.Dims) != len(wt.Dims) || ti.Offset%32 != 0 {
			t.Errorf("tensor %d = %+v, wrote %+v", i, ti, wt)
		}
		got, err := f.TensorF32(wt.Name)
		if err != nil {
			t.Fatal(err)
		}
		for j, x := range wt.Data {
			want := x
			switch wt.Type {
			case TypeF16:
				want = half.F16ToF32(half.F32ToF16(x))
			case TypeBF16:
				want = half.BF16ToF32(half.F32ToBF16(x))
			}
			if got[j] != want {
				t.Errorf("%s[%d] = %v, want %v", wt.Name, j, got[j], want)
			}
		}
	}
	if f.DataOffset%32 != 0 {
		t.Errorf("data offset %d not aligned", f.DataOffset)
	}
}

func TestRoundTripAlignment(t *testing.T) {
	kvs := []KV{{"general.alignment", uint32(64)}}
	tensors := []WriterTensor{
		{Name: "a", Dims: []uint64{3}, Type: TypeF32, Data: []float32{1, 2, 3}},
		{Name: "b", Dims: []uint64{1}, Type: TypeF16, Data: []float32{4}},
	}
	b := writeToBytes(t, kvs, tensors)
	f := readBytes(t, b)
	if f.Alignment != 64 || f.DataOffset%64 != 0 || f.Tensors[1].Offset != 64 {
		t.Fatalf("alignment %d, data offset %d, second tensor at %d", f.Alignment, f.DataOffset, f.Tensors[1].Offset)
	}
	if got, _ := f.TensorF32("b"); len(got) != 1 || got[0] != 4 {
		t.Fatalf("b = %v", got)
	}
	if len(b)%64 != 0 {
		t.Errorf("file length %d not padded to 64", len(b))
	}
}

func TestAccessors(t *testing.T) {
	f := readBytes(t, writeToBytes(t, allTypesKVs(), nil))
	if s, err := f.String("general.architecture"); err != nil || s != "llama" {
		t.Errorf("String = %q, %v", s, err)
	}
	for key, want := range map[string]uint64{"t.u8": 200, "t.u16": 60000, "t.u32": 4000000000, "t.u64": 1 << 63} {
		if u, err := f.Uint(key); err != nil || u != want {
			t.Errorf("Uint(%s) = %d, %v; want %d", key, u, err, want)
		}
	}
	if i, err := f.Int("t.i32"); err != nil || i != -2000000000 {
		t.Errorf("Int(t.i32) = %d, %v", i, err)
	}
	if x, err := f.Float("t.f32"); err != nil || x != 1.5 {
		t.Errorf("Float(t.f32) = %v, %v", x, err)
	}
	if b, err := f.Bool("t.bool"); err != nil || !b {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if a, err := f.Strings("a.str"); err != nil || len(a) != 3 {
		t.Errorf("Strings = %v, %v", a, err)
	}
	if a, err := f.Float32s("a.f32"); err != nil || len(a) != 2 {
		t.Errorf("Float32s = %v, %v", a, err)
	}
	if a, err := f.Int32s("a.i32"); err != nil || len(a) != 2 {
		t.Errorf("Int32s = %v, %v", a, err)
	}
	if a, err := f.Uint32s("a.u32"); err != nil || len(a) != 3 {
		t.Errorf("Uint32s = %v, %v", a, err)
	}
	// Errors name the key and the type found.
	bad := []struct {
		call func() error
		want string
	}{
		{func() error { _, err := f.Uint("t.i8"); return err }, `metadata key "t.i8": -100 is negative`},
		{func() error { _, err := f.Int("t.u64"); return err }, `metadata key "t.u64": 9223372036854775808 overflows int64`},
		{func() error { _, err := f.String("t.u32"); return err }, `metadata key "t.u32": is uint32, want string`},
		{func() error { _, err := f.Strings("a.i32"); return err }, `metadata key "a.i32": is array of int32, want array of string`},
		{func() error { _, err := f.Float("t.str"); return err }, `metadata key "t.str": is string`},
		{func() error { _, err := f.Uint("nope"); return err }, `metadata key "nope": missing`},
		{func() error { _, err := f.TensorF32("nope"); return err }, `tensor "nope": not in the file`},
	}
	for _, c := range bad {
		err := c.call()
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "gguf: test.gguf: ") {
			t.Errorf("error %v, want a *FormatError containing %q", err, c.want)
		}
	}
}

// TestTypeName checks the GGUF type names that errors report for every
// value type Read produces, spelled as in the GGUF spec.
func TestTypeName(t *testing.T) {
	want := map[string]string{
		"general.architecture": "string", "t.u8": "uint8", "t.i8": "int8", "t.u16": "uint16", "t.i16": "int16",
		"t.u32": "uint32", "t.i32": "int32", "t.f32": "float32", "t.bool": "bool", "t.str": "string",
		"t.u64": "uint64", "t.i64": "int64", "t.f64": "float64", "t.empty": "string",
		"a.u8": "array of uint8", "a.i8": "array of int8", "a.u16": "array of uint16", "a.i16": "array of int16",
		"a.u32": "array of uint32", "a.i32": "array of int32", "a.f32": "array of float32",
		"a.bool": "array of bool", "a.str": "array of string", "a.u64": "array of uint64",
		"a.i64": "array of int64", "a.f64": "array of float64", "a.empty": "array of int32",
		"a.nested": "array of arrays",
	}
	kvs := allTypesKVs()
	if len(want) != len(kvs) {
		t.Fatalf("%d names for %d entries", len(want), len(kvs))
	}
	for _, kv := range kvs {
		if got := typeName(kv.Value); got != want[kv.Key] {
			t.Errorf("typeName(%s) = %q, want %q", kv.Key, got, want[kv.Key])
		}
	}
	if got := typeName(5); got != "Go type int" {
		t.Errorf("typeName(int) = %q", got)
	}
}

func TestWriteRejects(t *testing.T) {
	ok := WriterTensor{Name: "x", Dims: []uint64{2}, Type: TypeF32, Data: []float32{1, 2}}
	cases := []struct {
		name    string
		kvs     []KV
		tensors []WriterTensor
	}{
		{"int value", []KV{{"k", 5}}, nil},
		{"duplicate key", []KV{{"k", "a"}, {"k", "b"}}, nil},
		{"empty key", []KV{{"", "a"}}, nil},
		{"nested scalar", []KV{{"k", []any{int32(1)}}}, nil},
		{"bad alignment", []KV{{"general.alignment", uint32(48)}}, nil},
		{"alignment type", []KV{{"general.alignment", uint64(64)}}, nil},
		{"duplicate tensor", nil, []WriterTensor{ok, ok}},
		{"data length", nil, []WriterTensor{{Name: "x", Dims: []uint64{3}, Type: TypeF32, Data: []float32{1}}}},
		{"quantised type", nil, []WriterTensor{{Name: "x", Dims: []uint64{32}, Type: TypeQ8_0, Data: make([]float32, 32)}}},
		{"five dims", nil, []WriterTensor{{Name: "x", Dims: []uint64{1, 1, 1, 1, 1}, Type: TypeF32, Data: []float32{1}}}},
		{"long name", nil, []WriterTensor{{Name: strings.Repeat("n", 64), Dims: []uint64{1}, Type: TypeF32, Data: []float32{1}}}},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := Write(&buf, c.kvs, c.tensors); err == nil {
			t.Errorf("%s: Write accepted it", c.name)
		} else if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", c.name, buf.Len())
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	tensors := []WriterTensor{{Name: "x", Dims: []uint64{2}, Type: TypeF32, Data: []float32{1, 2}}}
	if err := WriteFile(path, []KV{{"general.architecture", "llama"}}, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := f.TensorF32("x"); err != nil || got[1] != 2 {
		t.Fatalf("x = %v, %v", got, err)
	}
	// A failed write leaves neither the target nor a temporary file behind.
	bad := filepath.Join(dir, "bad.gguf")
	if err := WriteFile(bad, []KV{{"k", 1}}, nil); err == nil {
		t.Fatal("WriteFile accepted an int value")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write, want 1", len(entries))
	}
}
