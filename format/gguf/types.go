package gguf

import "fmt"

// ValueType is the GGUF metadata value type tag.
type ValueType uint32

// Metadata value types, numbered as in the GGUF spec.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

func (t ValueType) String() string {
	names := [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
		"float32", "bool", "string", "array", "uint64", "int64", "float64"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// minEncodedSize is the fewest bytes one value of type t takes in a file;
// it bounds element counts against the bytes left before allocating.
func (t ValueType) minEncodedSize() int64 {
	switch t {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueString, ValueUint64, ValueInt64, ValueFloat64:
		return 8 // a string is at least its uint64 length
	case ValueArray:
		return 12 // element type + length
	}
	return 0
}

// TensorType is the ggml tensor element type.
type TensorType uint32

// Tensor types, numbered as ggml's enum ggml_type.
const (
	TypeF32     TensorType = 0
	TypeF16     TensorType = 1
	TypeQ4_0    TensorType = 2
	TypeQ4_1    TensorType = 3
	TypeQ5_0    TensorType = 6
	TypeQ5_1    TensorType = 7
	TypeQ8_0    TensorType = 8
	TypeQ8_1    TensorType = 9
	TypeQ2_K    TensorType = 10
	TypeQ3_K    TensorType = 11
	TypeQ4_K    TensorType = 12
	TypeQ5_K    TensorType = 13
	TypeQ6_K    TensorType = 14
	TypeQ8_K    TensorType = 15
	TypeIQ2_XXS TensorType = 16
	TypeIQ2_XS  TensorType = 17
	TypeIQ3_XXS TensorType = 18
	TypeIQ1_S   TensorType = 19
	TypeIQ4_NL  TensorType = 20
	TypeIQ3_S   TensorType = 21
	TypeIQ2_S   TensorType = 22
	TypeIQ4_XS  TensorType = 23
	TypeI8      TensorType = 24
	TypeI16     TensorType = 25
	TypeI32     TensorType = 26
	TypeI64     TensorType = 27
	TypeF64     TensorType = 28
	TypeIQ1_M   TensorType = 29
	TypeBF16    TensorType = 30
	TypeTQ1_0   TensorType = 34
	TypeTQ2_0   TensorType = 35
	TypeMXFP4   TensorType = 39
)

// typeTrait is ggml's (block size, bytes per block) for one tensor type.
type typeTrait struct {
	name      string
	blockSize int64
	blockLen  int64
}

// traitOf returns ggml's block geometry for every type a GGUF file may hold,
// supported or not, so sizes can be checked even for tensors this package
// cannot dequantise.
func traitOf(t TensorType) (typeTrait, bool) {
	switch t {
	case TypeF32:
		return typeTrait{"F32", 1, 4}, true
	case TypeF16:
		return typeTrait{"F16", 1, 2}, true
	case TypeQ4_0:
		return typeTrait{"Q4_0", 32, 18}, true
	case TypeQ4_1:
		return typeTrait{"Q4_1", 32, 20}, true
	case TypeQ5_0:
		return typeTrait{"Q5_0", 32, 22}, true
	case TypeQ5_1:
		return typeTrait{"Q5_1", 32, 24}, true
	case TypeQ8_0:
		return typeTrait{"Q8_0", 32, 34}, true
	case TypeQ8_1:
		return typeTrait{"Q8_1", 32, 36}, true
	case TypeQ2_K:
		return typeTrait{"Q2_K", 256, 84}, true
	case TypeQ3_K:
		return typeTrait{"Q3_K", 256, 110}, true
	case TypeQ4_K:
		return typeTrait{"Q4_K", 256, 144}, true
	case TypeQ5_K:
		return typeTrait{"Q5_K", 256, 176}, true
	case TypeQ6_K:
		return typeTrait{"Q6_K", 256, 210}, true
	case TypeQ8_K:
		return typeTrait{"Q8_K", 256, 292}, true
	case TypeIQ2_XXS:
		return typeTrait{"IQ2_XXS", 256, 66}, true
	case TypeIQ2_XS:
		return typeTrait{"IQ2_XS", 256, 74}, true
	case TypeIQ3_XXS:
		return typeTrait{"IQ3_XXS", 256, 98}, true
	case TypeIQ1_S:
		return typeTrait{"IQ1_S", 256, 50}, true
	case TypeIQ4_NL:
		return typeTrait{"IQ4_NL", 32, 18}, true
	case TypeIQ3_S:
		return typeTrait{"IQ3_S", 256, 110}, true
	case TypeIQ2_S:
		return typeTrait{"IQ2_S", 256, 82}, true
	case TypeIQ4_XS:
		return typeTrait{"IQ4_XS", 256, 136}, true
	case TypeI8:
		return typeTrait{"I8", 1, 1}, true
	case TypeI16:
		return typeTrait{"I16", 1, 2}, true
	case TypeI32:
		return typeTrait{"I32", 1, 4}, true
	case TypeI64:
		return typeTrait{"I64", 1, 8}, true
	case TypeF64:
		return typeTrait{"F64", 1, 8}, true
	case TypeIQ1_M:
		return typeTrait{"IQ1_M", 256, 56}, true
	case TypeBF16:
		return typeTrait{"BF16", 1, 2}, true
	case TypeTQ1_0:
		return typeTrait{"TQ1_0", 256, 54}, true
	case TypeTQ2_0:
		return typeTrait{"TQ2_0", 256, 66}, true
	case TypeMXFP4:
		return typeTrait{"MXFP4", 32, 17}, true
	}
	return typeTrait{}, false
}

// String returns ggml's name for the type, e.g. "Q4_K".
func (t TensorType) String() string {
	if tr, ok := traitOf(t); ok {
		return tr.name
	}
	return fmt.Sprintf("TensorType(%d)", uint32(t))
}

// BlockSize is the number of elements in one quantisation block (1 for
// plain types); 0 for an unknown type.
func (t TensorType) BlockSize() int64 { tr, _ := traitOf(t); return tr.blockSize }

// BlockBytes is the encoded size of one block; 0 for an unknown type.
func (t TensorType) BlockBytes() int64 { tr, _ := traitOf(t); return tr.blockLen }
