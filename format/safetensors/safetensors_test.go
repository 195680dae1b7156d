package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lsalign/lsalign/internal/half"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

// TestWriteExactBytes checks the writer against a file written out by hand
// from the format description.
func TestWriteExactBytes(t *testing.T) {
	got := encodeFile(t, []WriterTensor{
		{Name: "b", Shape: []int64{2}, Data: []float32{1, -2}},
		{Name: "a", Shape: []int64{}, DType: "F16", Data: []float32{1}},
	}, map[string]string{"format": "pt"})
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F16","shape":[],"data_offsets":[0,2]},` +
		`"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}`
	for (8+len(header))%8 != 0 {
		header += " "
	}
	want := build(header, []byte{0x00, 0x3c, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0})
	if !bytes.Equal(got, want) {
		t.Fatalf("wrote\n%q\nwant\n%q", got, want)
	}
}

func randomTensors(seed uint64) []WriterTensor {
	r := rng.New(seed)
	return []WriterTensor{
		{Name: "model.embed_tokens.weight", Shape: []int64{5, 3}, DType: "F32", Data: testutil.Rand32(r, 15, 1)},
		{Name: "z.half", Shape: []int64{2, 2, 2}, DType: "F16", Data: testutil.Rand32(r, 8, 100)},
		{Name: "bf", Shape: []int64{7}, DType: "BF16", Data: testutil.Rand32(r, 7, 1e-3)},
		{Name: "empty", Shape: []int64{0, 3}, Data: []float32{}},
		{Name: "scalar", Shape: []int64{}, Data: []float32{42}},
		{Name: "名前 <&>", Shape: []int64{1}, Data: []float32{-0.5}},
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := randomTensors(1)
	meta := map[string]string{"format": "pt", "note": "\"quoted\" ünïcode"}
	b := encodeFile(t, tensors, meta)
	f, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Fatalf("metadata %v, want %v", f.Metadata, meta)
	}
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 || b[8+n-1] != '}' && b[8+n-1] != ' ' {
		t.Fatalf("header of %d bytes is not padded to a multiple of 8 with spaces", n)
	}
	for i := 1; i < len(f.Tensors); i++ {
		if f.Tensors[i].Begin != f.Tensors[i-1].End || f.Tensors[i].Name < f.Tensors[i-1].Name {
			t.Fatalf("tensors not contiguous in name order: %+v", f.Tensors)
		}
	}
	for _, wt := range tensors {
		info, ok := f.Tensor(wt.Name)
		wantDType := wt.DType
		if wantDType == "" {
			wantDType = "F32"
		}
		if !ok || info.DType != wantDType || !reflect.DeepEqual(info.Shape, wt.Shape) {
			t.Fatalf("tensor %q: %+v, %v", wt.Name, info, ok)
		}
		got, err := f.Float32(wt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(wt.Data) {
			t.Fatalf("%s: %d values, want %d", wt.Name, len(got), len(wt.Data))
		}
		for i, v := range wt.Data {
			want := v
			switch wt.DType {
			case "F16":
				want = half.F16ToF32(half.F32ToF16(v))
			case "BF16":
				want = half.BF16ToF32(half.F32ToBF16(v))
			}
			if got[i] != want {
				t.Fatalf("%s[%d] = %v, want %v", wt.Name, i, got[i], want)
			}
		}
	}
}

func TestWriteDeterministic(t *testing.T) {
	tensors := randomTensors(2)
	a := encodeFile(t, tensors, map[string]string{"x": "1", "a": "2"})
	reversed := make([]WriterTensor, len(tensors))
	for i, tt := range tensors {
		reversed[len(tensors)-1-i] = tt
	}
	if b := encodeFile(t, reversed, map[string]string{"a": "2", "x": "1"}); !bytes.Equal(a, b) {
		t.Fatal("the same tensors in another order wrote different bytes")
	}
}

func TestWriteFileOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	tensors := randomTensors(3)
	if err := WriteFile(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Float32("model.embed_tokens.weight")
	if err != nil || !reflect.DeepEqual(got, tensors[0].Data) {
		t.Fatalf("Float32 = %v, %v; want %v", got, err, tensors[0].Data)
	}
	if f.Metadata != nil {
		t.Fatalf("metadata %v, want none", f.Metadata)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	bad := append(randomTensors(3), WriterTensor{Name: "scalar", Data: []float32{1}})
	if err := WriteFile(path, bad, nil); err == nil {
		t.Fatal("WriteFile with a duplicate name succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d directory entries after a failed write, want 1", len(entries))
	}
}

func TestWriteRejects(t *testing.T) {
	cases := map[string]WriterTensor{
		"dtype":          {Name: "a", Shape: []int64{1}, DType: "I8", Data: []float32{1}},
		"shape mismatch": {Name: "a", Shape: []int64{2}, Data: []float32{1}},
		"negative dim":   {Name: "a", Shape: []int64{-1, -1}, Data: []float32{1}},
		"reserved name":  {Name: "__metadata__", Shape: []int64{1}, Data: []float32{1}},
		"bad utf8 name":  {Name: "\xff", Shape: []int64{1}, Data: []float32{1}},
	}
	for name, tt := range cases {
		if err := Write(&bytes.Buffer{}, []WriterTensor{tt}, nil); err == nil {
			t.Errorf("%s: Write succeeded", name)
		}
	}
	dup := []WriterTensor{{Name: "a", Shape: []int64{}, Data: []float32{1}}, {Name: "a", Shape: []int64{}, Data: []float32{2}}}
	if err := Write(&bytes.Buffer{}, dup, nil); err == nil {
		t.Error("duplicate names: Write succeeded")
	}
}

func TestFloat32Conversions(t *testing.T) {
	f64 := binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.5))
	f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(1e300))
	header := `{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},` +
		`"i":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}`
	f, err := readBytes(build(header, append(f64, make([]byte, 8)...)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Float32("d")
	if err != nil || got[0] != 1.5 || !math.IsInf(float64(got[1]), 1) {
		t.Fatalf("F64 as float32 = %v, %v; want [1.5 +Inf]", got, err)
	}
	if _, err := f.Float32("i"); err == nil {
		t.Fatal("I64 read as float32")
	} else {
		wantFormatError(t, err, "i.dtype")
	}
	if _, err := f.Float32("missing"); err == nil {
		t.Fatal("a missing tensor read")
	}
}

func TestValidEdgeFiles(t *testing.T) {
	for name, file := range map[string][]byte{
		"empty header":      build("{}", nil),
		"padded header":     build(`{"__metadata__":null}      `, nil),
		"zero-size tensors": build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"BOOL","shape":[3,0],"data_offsets":[0,0]}}`, nil),
		"sub-byte dtype":    build(`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`, []byte{1, 2}),
		"extra fields":      build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}`, []byte{7}),
	} {
		if _, err := readBytes(file); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
