package gemm

import "unsafe"

// Packed layouts (BLIS style). A block of mb rows × kb steps of op(A) is
// stored as ceil(mb/mr) panels of mr*kb values; within a panel, step p holds
// the mr values op(A)[i+r][p] for r = 0..mr-1. A block of kb steps × nb
// columns of op(B) is stored as ceil(nb/nr) panels of kb*nr values; step p of
// a panel holds op(B)[p][j+c] for c = 0..nr-1. Rows and columns past the edge
// of the matrix are zero, so the micro-kernel always runs on full tiles.
//
// The inner loops use unsafe pointer arithmetic after checking the extent of
// every panel once: the compiler's bounds checks and slice bookkeeping made
// the safe loops 4-7× slower, and packing A costs as much as the arithmetic
// when n is small.

// packA packs op(A)[i0:i0+mb, p0:p0+kb] into dst.
func packA(dst, a []float32, lda int, transA bool, i0, mb, p0, kb, mr int) {
	for i := 0; i < mb; i += mr {
		rows := min(mr, mb-i)
		panel := dst[i*kb : (i+mr)*kb]
		if transA {
			packCopyPanel(panel, a, lda, p0, i0+i, kb, rows, mr)
		} else {
			packGatherPanel(panel, a, lda, i0+i, p0, rows, kb, mr)
		}
	}
}

// packB packs op(B)[p0:p0+kb, j0:j0+nb] into dst.
func packB(dst, b []float32, ldb int, transB bool, p0, kb, j0, nb, nr int) {
	for j := 0; j < nb; j += nr {
		cols := min(nr, nb-j)
		panel := dst[j*kb : (j+nr)*kb]
		if transB {
			packGatherPanel(panel, b, ldb, j0+j, p0, cols, kb, nr)
		} else {
			packCopyPanel(panel, b, ldb, p0, j0+j, kb, cols, nr)
		}
	}
}

// packCopyPanel fills a panel whose steps are contiguous in the source:
// step p is src[(s0+p)*ld + v0 : ... + width], padded with zeros to w.
// Addresses are computed from the panel's and the step's start each time,
// never stepped past the last element (checkptr rejects that).
func packCopyPanel(panel, src []float32, ld, s0, v0, steps, width, w int) {
	if steps == 0 {
		return
	}
	_ = panel[steps*w-1]
	if width == 0 {
		clear(panel[:steps*w])
		return
	}
	_ = src[(s0+steps-1)*ld+v0+width-1]
	base := unsafe.Pointer(unsafe.SliceData(panel))
	first := unsafe.Pointer(&src[s0*ld+v0])
	switch {
	case width == 6 && w == 6: // the AVX2 kernel's transposed A
		for p := range steps {
			dp, sp := unsafe.Add(base, 24*p), unsafe.Add(first, 4*ld*p)
			*(*[4]float32)(dp) = *(*[4]float32)(sp)
			*(*[2]float32)(unsafe.Add(dp, 16)) = *(*[2]float32)(unsafe.Add(sp, 16))
		}
		return
	case width == w && w%4 == 0:
		for p := range steps {
			dp, sp := unsafe.Add(base, 4*w*p), unsafe.Add(first, 4*ld*p)
			for i := 0; i < w; i += 4 {
				*(*[4]float32)(unsafe.Add(dp, 4*i)) = *(*[4]float32)(unsafe.Add(sp, 4*i))
			}
		}
		return
	}
	for p := range steps {
		dp, sp := unsafe.Add(base, 4*w*p), unsafe.Add(first, 4*ld*p)
		i := 0
		for ; i+4 <= width; i += 4 {
			*(*[4]float32)(unsafe.Add(dp, 4*i)) = *(*[4]float32)(unsafe.Add(sp, 4*i))
		}
		for ; i < width; i++ {
			*(*float32)(unsafe.Add(dp, 4*i)) = *(*float32)(unsafe.Add(sp, 4*i))
		}
		for ; i < w; i++ {
			*(*float32)(unsafe.Add(dp, 4*i)) = 0
		}
	}
}

// packGatherPanel fills a panel whose values are contiguous in the source:
// value r of step p is src[(v0+r)*ld + s0 + p], zero for r >= width. Rows
// are read four at a time so each step receives four values at once.
func packGatherPanel(panel, src []float32, ld, v0, s0, width, steps, w int) {
	if steps == 0 {
		return
	}
	_ = panel[steps*w-1]
	if width > 0 {
		_ = src[(v0+width-1)*ld+s0+steps-1]
	}
	base := unsafe.Pointer(unsafe.SliceData(panel))
	r := 0
	for ; r+4 <= width; r += 4 {
		gather4(unsafe.Add(base, 4*r), unsafe.Pointer(&src[(v0+r)*ld+s0]), 4*ld, 4*w, steps)
	}
	for ; r < width; r++ {
		row := src[(v0+r)*ld+s0:][:steps]
		for p, v := range row {
			panel[p*w+r] = v
		}
	}
	if width < w {
		for p := range steps {
			clear(panel[p*w+width : p*w+w])
		}
	}
}

// gather4 writes four source rows (stride bytes apart) into consecutive
// steps (dstep bytes apart) of a panel. It is kept out of line so that its
// loop gets the registers to itself, which makes it about 30% faster.
//
//go:noinline
func gather4(dp, sp unsafe.Pointer, stride, dstep, steps int) {
	for p := range steps {
		s := unsafe.Add(sp, 4*p)
		*(*[4]float32)(unsafe.Add(dp, dstep*p)) = [4]float32{
			*(*float32)(s),
			*(*float32)(unsafe.Add(s, stride)),
			*(*float32)(unsafe.Add(s, 2*stride)),
			*(*float32)(unsafe.Add(s, 3*stride)),
		}
	}
}
