package gguf

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
)

const (
	magic            = "GGUF"
	defaultAlignment = 32
	maxDims          = 4     // GGML_MAX_DIMS
	maxNameLen       = 63    // GGML_MAX_NAME minus the NUL
	maxKeyLen        = 65535 // GGUF spec
	maxArrayDepth    = 16    // nested arrays deeper than this are rejected
	minKVBytes       = 8 + 4 + 1
	minTensorBytes   = 8 + 4 + 4 + 8
)

func (d *decoder) header(f *File) error {
	b, err := d.bytes(4, "magic")
	if err != nil {
		return err
	}
	if string(b) != magic {
		return d.errorf("magic", "got %q, want %q", b, magic)
	}
	if f.Version, err = d.u32("version"); err != nil {
		return err
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return d.errorf("version", "GGUF version 1 (32-bit counts) is not supported; re-convert the file")
	default:
		if v := bits.ReverseBytes32(f.Version); v == 2 || v == 3 {
			return d.errorf("version", "big-endian GGUF files are not supported")
		}
		return d.errorf("version", "unsupported version %d", f.Version)
	}
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return err
	}
	nKV, err := d.u64("metadata kv count")
	if err != nil {
		return err
	}
	if err := d.fits(nKV, minKVBytes, "metadata kv count"); err != nil {
		return err
	}
	if err := d.fits(nTensors, minTensorBytes, "tensor count"); err != nil {
		return err
	}
	if nKV*minKVBytes+nTensors*minTensorBytes > uint64(d.left()) { // both fit singly, so no overflow
		return d.errorf("tensor count", "%d tensors and %d metadata entries need more than the %d bytes left", nTensors, nKV, d.left())
	}
	if err := d.metadata(f, int(nKV)); err != nil {
		return err
	}
	if err := d.alignment(f); err != nil {
		return err
	}
	if err := d.tensorInfos(f, int(nTensors)); err != nil {
		return err
	}
	return d.placeData(f)
}

func (d *decoder) metadata(f *File, n int) error {
	f.KV = make([]KV, 0, n)
	f.kvIndex = make(map[string]int, n)
	for i := range n {
		field := fmt.Sprintf("metadata entry %d: key", i)
		key, err := d.str(field, maxKeyLen)
		if err != nil {
			return err
		}
		if _, dup := f.kvIndex[key]; dup {
			return d.errorf(keyField(key), "duplicate key")
		}
		t, err := d.u32(keyField(key) + ": value type")
		if err != nil {
			return err
		}
		v, err := d.value(ValueType(t), keyField(key), 0)
		if err != nil {
			return err
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	return nil
}

// alignment applies general.alignment, which ggml requires to be a uint32
// power of two.
func (d *decoder) alignment(f *File) error {
	i, ok := f.kvIndex["general.alignment"]
	if !ok {
		return nil
	}
	a, ok := f.KV[i].Value.(uint32)
	if !ok {
		return d.errorf(keyField("general.alignment"), "is %s, want uint32", typeName(f.KV[i].Value))
	}
	if a == 0 || a&(a-1) != 0 {
		return d.errorf(keyField("general.alignment"), "%d is not a power of two", a)
	}
	f.Alignment = uint64(a)
	return nil
}

func (d *decoder) tensorInfos(f *File, n int) error {
	f.Tensors = make([]TensorInfo, 0, n)
	f.tensorIndex = make(map[string]int, n)
	for i := range n {
		name, err := d.str(fmt.Sprintf("tensor %d: name", i), maxNameLen)
		if err != nil {
			return err
		}
		if _, dup := f.tensorIndex[name]; dup {
			return d.errorf(tensorField(name, ""), "duplicate tensor name")
		}
		t, err := d.tensorInfo(name, f.Alignment)
		if err != nil {
			return err
		}
		f.tensorIndex[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	return nil
}

func (d *decoder) tensorInfo(name string, alignment uint64) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	nDims, err := d.u32(tensorField(name, "n_dims"))
	if err != nil {
		return t, err
	}
	if nDims > maxDims {
		return t, d.errorf(tensorField(name, "n_dims"), "%d exceeds %d", nDims, maxDims)
	}
	t.Dims = make([]uint64, nDims)
	elems := uint64(1)
	for j := range t.Dims {
		field := tensorField(name, fmt.Sprintf("dims[%d]", j))
		if t.Dims[j], err = d.u64(field); err != nil {
			return t, err
		}
		hi, lo := bits.Mul64(elems, t.Dims[j])
		if hi != 0 || lo > math.MaxInt64 {
			return t, d.errorf(field, "element count overflows")
		}
		elems = lo
	}
	typ, err := d.u32(tensorField(name, "type"))
	if err != nil {
		return t, err
	}
	t.Type = TensorType(typ)
	tr, ok := traitOf(t.Type)
	if !ok {
		return t, d.errorf(tensorField(name, "type"), "unknown ggml type %d", typ)
	}
	if len(t.Dims) > 0 && t.Dims[0]%uint64(tr.blockSize) != 0 {
		return t, d.errorf(tensorField(name, "dims[0]"), "%d is not a multiple of the %s block size %d", t.Dims[0], t.Type, tr.blockSize)
	}
	hi, nbytes := bits.Mul64(elems/uint64(tr.blockSize), uint64(tr.blockLen))
	if hi != 0 || nbytes > math.MaxInt64 {
		return t, d.errorf(tensorField(name, "dims"), "byte size overflows")
	}
	t.Bytes = int64(nbytes)
	if t.Offset, err = d.u64(tensorField(name, "offset")); err != nil {
		return t, err
	}
	if t.Offset%alignment != 0 {
		return t, d.errorf(tensorField(name, "offset"), "%d is not a multiple of the alignment %d", t.Offset, alignment)
	}
	return t, nil
}

// placeData locates the aligned data section and checks that every tensor
// lies inside the file and that no two overlap.
func (d *decoder) placeData(f *File) error {
	start := alignUp(uint64(d.pos), f.Alignment)
	f.DataOffset = int64(min(start, uint64(d.size))) // past the end only if no data follows
	avail := uint64(d.size) - uint64(f.DataOffset)
	for _, t := range f.Tensors {
		if t.Offset > avail || uint64(t.Bytes) > avail-t.Offset {
			return d.errorf(tensorField(t.Name, "offset"), "data [%d, +%d) runs past the end of the file (%d bytes of data)", t.Offset, t.Bytes, avail)
		}
	}
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	var end uint64 // furthest end of the data seen so far, and whose it is
	var endName string
	for _, i := range order {
		t := f.Tensors[i]
		if t.Bytes == 0 {
			continue
		}
		if t.Offset < end {
			return d.errorf(tensorField(t.Name, "offset"), "data overlaps tensor %q", endName)
		}
		end, endName = t.Offset+uint64(t.Bytes), t.Name
	}
	return nil
}

func alignUp(x, a uint64) uint64 {
	if r := x % a; r != 0 {
		return x + a - r
	}
	return x
}
