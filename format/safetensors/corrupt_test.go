package safetensors

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
)

func TestCorruptFiles(t *testing.T) {
	f32 := func(name, offsets string) string {
		return `"` + name + `":{"dtype":"F32","shape":[1],"data_offsets":` + offsets + `}`
	}
	cases := []struct {
		name  string
		file  []byte
		field string
	}{
		{"short", []byte{1, 0, 0}, "header size"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 10), "header size"},
		{"header over limit", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), "header size"},
		{"header near limit", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize), "header size"},
		{"huge header size", binary.LittleEndian.AppendUint64(nil, 1<<63), "header size"},
		{"not an object", build(`[]`, nil), "header"},
		{"leading space", build(` {}`, nil), "header"},
		{"bad JSON", build(`{"a":`, nil), "header"},
		{"data after object", build(`{} x`, nil), "header"},
		{"invalid UTF-8", build("{\"\xff\":1}", nil), "header"},
		{"entry not object", build(`{"a":5}`, nil), "a"},
		{"unknown dtype", build(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.dtype"},
		{"missing dtype", build(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.dtype"},
		{"missing shape", build(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), "a.shape"},
		{"null shape", build(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, make([]byte, 4)), "a.shape"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.shape"},
		{"fractional dim", build(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.shape"},
		{"shape overflow", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.shape"},
		{"bit size overflow", build(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.shape"},
		{"partial byte", build(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, make([]byte, 2)), "a.shape"},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "a.data_offsets"},
		{"three offsets", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 4)), "a.data_offsets"},
		{"reversed offsets", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)), "a.data_offsets"},
		{"negative offset", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, nil), "a.data_offsets"},
		{"offset overflow", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e30]}}`, nil), "a.data_offsets"},
		{"duplicate name", build(`{`+f32("a", "[0,4]")+`,`+f32("a", "[4,8]")+`}`, make([]byte, 8)), "a"},
		{"gap", build(`{`+f32("a", "[0,4]")+`,`+f32("b", "[8,12]")+`}`, make([]byte, 12)), "b.data_offsets"},
		{"overlap", build(`{`+f32("a", "[0,4]")+`,`+f32("b", "[2,6]")+`}`, make([]byte, 6)), "b.data_offsets"},
		{"past buffer", build(`{`+f32("a", "[0,4]")+`}`, make([]byte, 2)), "a.data_offsets"},
		{"buffer not covered", build(`{`+f32("a", "[0,4]")+`}`, make([]byte, 8)), "data_offsets"},
		{"metadata not strings", build(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"metadata twice", build(`{"__metadata__":null,"__metadata__":{}}`, nil), "__metadata__"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := readBytes(tc.file)
			runtime.ReadMemStats(&after)
			wantFormatError(t, err, tc.field)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Fatalf("rejecting the file allocated %d bytes", grew)
			}
		})
	}
}

func TestTruncations(t *testing.T) {
	b := encodeFile(t, randomTensors(4), map[string]string{"format": "pt"})
	for n := range len(b) {
		_, err := readBytes(b[:n])
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
		wantFormatError(t, err, "")
	}
	// A header truncated in place, with its length field adjusted (cutting
	// only padding leaves a valid file).
	hlen := int(binary.LittleEndian.Uint64(b))
	jsonLen := len(strings.TrimRight(string(b[8:8+hlen]), " "))
	for n := range jsonLen {
		cut := build(string(b[8:8+n]), b[8+hlen:])
		if _, err := readBytes(cut); err == nil {
			t.Fatalf("header cut to %d of %d bytes: no error", n, hlen)
		} else {
			wantFormatError(t, err, "")
		}
	}
}
