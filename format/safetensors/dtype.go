package safetensors

// dtypeBits returns the element size in bits of a dtype the reference
// implementation knows. Sub-byte types are valid only when a tensor's total
// bit count is a whole number of bytes.
func dtypeBits(dtype string) (bits int64, ok bool) {
	switch dtype {
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0":
		return 8, true
	case "I16", "U16", "F16", "BF16":
		return 16, true
	case "I32", "U32", "F32":
		return 32, true
	case "I64", "U64", "F64", "C64":
		return 64, true
	case "F4":
		return 4, true
	case "F6_E2M3", "F6_E3M2":
		return 6, true
	}
	return 0, false
}
