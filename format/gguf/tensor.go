package gguf

import (
	"fmt"
	"io"
)

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorBytes reads the encoded data of the named tensor.
func (f *File) TensorBytes(name string) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, &FormatError{File: f.Name, Field: tensorField(name, ""), Msg: "not in the file"}
	}
	return f.readTensor(t)
}

func (f *File) readTensor(t TensorInfo) ([]byte, error) {
	// Offsets and sizes were checked against the file size in Read.
	buf := make([]byte, t.Bytes)
	n, err := f.r.ReadAt(buf, f.DataOffset+int64(t.Offset))
	if n == len(buf) {
		return buf, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, &FormatError{File: f.Name, Field: tensorField(t.Name, "data"), Msg: err.Error()}
}

// TensorF32 reads the named tensor and converts it to float32, in ggml
// element order (Dims[0] contiguous). Supported types: F32, F16, BF16, F64,
// I8, I16, I32, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q6_K.
func (f *File) TensorF32(name string) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, &FormatError{File: f.Name, Field: tensorField(name, ""), Msg: "not in the file"}
	}
	if !canDequantize(t.Type) {
		return nil, &FormatError{File: f.Name, Field: tensorField(name, "type"),
			Msg: fmt.Sprintf("%s cannot be converted to F32 by this reader", t.Type)}
	}
	raw, err := f.readTensor(t)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.Elements())
	dequantize(t.Type, raw, out)
	return out, nil
}
