package safetensors

import (
	"testing"
)

func FuzzRead(f *testing.F) {
	valid := encodeFile(f, randomTensors(5), map[string]string{"format": "pt"})
	f.Add(valid)
	for _, n := range []int{0, 7, 8, 9, 40, len(valid) / 2, len(valid) - 1} {
		f.Add(valid[:n])
	}
	f.Add(build(`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"b":{"dtype":"I64","shape":[1],"data_offsets":[2,10]}}`, make([]byte, 10)))
	f.Add(build(`{"__metadata__":{"k":"v"},"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := readBytes(data)
		if err != nil {
			wantFormatError(t, err, "")
			return
		}
		end := int64(0)
		for _, tt := range file.Tensors {
			if tt.Begin != end {
				t.Fatalf("tensor %q begins at %d, previous ended at %d", tt.Name, tt.Begin, end)
			}
			end = tt.End
			vals, err := file.Float32(tt.Name)
			switch tt.DType {
			case "F32", "F16", "BF16", "F64":
				numel := int64(1)
				for _, d := range tt.Shape {
					numel *= d
				}
				if err != nil || int64(len(vals)) != numel {
					t.Fatalf("Float32(%q) = %d values, %v; want %d", tt.Name, len(vals), err, numel)
				}
			default:
				if err == nil {
					t.Fatalf("Float32(%q) of dtype %s succeeded", tt.Name, tt.DType)
				}
			}
		}
		if hlen := int64(len(data)) - file.dataStart; end != hlen {
			t.Fatalf("tensors end at %d, buffer has %d bytes", end, hlen)
		}
	})
}
