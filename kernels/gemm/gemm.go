// Package gemm is single-precision matrix multiplication for the engine:
// Goto/BLIS-style blocking with B packed into kc×nc blocks of nr-wide
// panels, Go-assembly micro-kernels (AVX-512F 12×32, AVX2+FMA 6×16) chosen
// at run time with a portable Go fallback (4×4; build tag noasm forces it),
// and goroutine parallelism over blocks of C. Untransposed A is read in
// place by the micro-kernels (its rows are already contiguous), transposed
// A is packed into mr-high panels.
//
// Results are bit-identical for any thread count: K is never split across
// threads, the K blocking is fixed per kernel, thread partitions fall on
// micro-tile boundaries, and edge tiles run the same micro-kernel on a
// zero-padded copy, so every element of C is computed by the same sequence
// of operations whatever the partition.
//
// Setting LSALIGN_BLAS=openblas in the environment makes Sgemm call
// OpenBLAS's cblas_sgemm (loaded without cgo) for the whole process; see
// Backend and BackendError.
package gemm

import (
	"fmt"
	"sync"

	"github.com/lsalign/lsalign/internal/parallel"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C in row-major layout, where
// op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and C is m×n;
// lda, ldb and ldc are the row strides of A, B and C as stored. With beta 0,
// C is overwritten without being read; with alpha 0 or k 0, A and B are not
// read.
//
// It uses up to GOMAXPROCS goroutines and gives bit-identical results for any
// thread count (the native kernels; OpenBLAS, when LSALIGN_BLAS selects it,
// makes no such promise). Slices too short for the dimensions and strides
// are a programmer error and panic.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmThreads(0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmThreads is Sgemm with at most threads goroutines; threads <= 0 means
// GOMAXPROCS and 1 runs on the calling goroutine.
func SgemmThreads(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	be := selectedBackend()
	if be.blas != nil {
		be.blas.sgemm(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemm(be.native, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// operands is one Sgemm call's arguments as the blocked driver needs them.
type operands struct {
	transA, transB bool
	k              int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

// sgemm is SgemmThreads on a given kernel (the tests run every kernel).
func sgemm(kern *kernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if beta == 0 {
		beta = 0 // +0 even if the caller passed -0: the kernels test the bits
	}
	op := operands{transA: transA, transB: transB, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	pm, pn := partition(kern, threads, m, n, k)
	if pm*pn == 1 {
		gemmBlock(kern, &op, 0, m, 0, n) // op stays on the stack
		return
	}
	shared := op // the workers' copy lives on the heap; op stays on the stack
	runGrid(kern, &shared, m, n, pm, pn)
}

// runGrid splits C into a pm×pn grid of blocks and computes each on its own
// goroutine (the first on the caller's). Block bounds are whole tiles, which
// keeps every tile of C on the same code path whatever pm and pn are.
func runGrid(kern *kernel, op *operands, m, n, pm, pn int) {
	mTiles, nTiles := ceilDiv(m, kern.mr), ceilDiv(n, kern.nr)
	var wg sync.WaitGroup
	wg.Add(pm*pn - 1)
	for w := pm*pn - 1; w >= 0; w-- {
		wi, wj := w/pn, w%pn
		i0, i1 := wi*mTiles/pm*kern.mr, min((wi+1)*mTiles/pm*kern.mr, m)
		j0, j1 := wj*nTiles/pn*kern.nr, min((wj+1)*nTiles/pn*kern.nr, n)
		if w == 0 {
			gemmBlock(kern, op, i0, i1, j0, j1)
			break
		}
		go func() {
			defer wg.Done()
			gemmBlock(kern, op, i0, i1, j0, j1)
		}()
	}
	wg.Wait()
}

// minMACsPerWorker is the least work (multiply-adds) worth a goroutine: a
// few microseconds, well above the cost of starting and joining one.
const minMACsPerWorker = 1 << 21

// packCost weighs one packed element against one multiply-add when choosing
// a partition: packing moves data at a few elements per cycle while the
// kernels retire 16-32 multiply-adds per cycle.
const packCost = 16

// partition splits C into a pm×pn grid of blocks, one per worker, choosing
// the grid that minimises the largest block's multiply-adds plus its
// packing work (each worker packs its own rows of A and columns of B).
func partition(kern *kernel, threads, m, n, k int) (pm, pn int) {
	if threads <= 0 {
		threads = parallel.Workers()
	}
	macs := float64(m) * float64(n) * float64(k)
	threads = min(threads, max(1, int(macs/minMACsPerWorker)))
	mTiles, nTiles := ceilDiv(m, kern.mr), ceilDiv(n, kern.nr)
	pm, pn = 1, 1
	best := -1.0
	for tm := 1; tm <= min(threads, mTiles); tm++ {
		tn := min(threads/tm, nTiles)
		rows := float64(ceilDiv(mTiles, tm) * kern.mr)
		cols := ceilDiv(nTiles, tn) * kern.nr
		// A is repacked for each nc-wide block of the worker's columns.
		packed := rows*float64(ceilDiv(cols, kern.nc)) + float64(cols)
		cost := rows*float64(cols)*float64(k) + packCost*packed*float64(k)
		if best < 0 || cost < best {
			best, pm, pn = cost, tm, tn
		}
	}
	return pm, pn
}

// gemmBlock computes rows [i0,i1) and columns [j0,j1) of C on the calling
// goroutine. i0 and j0 are tile multiples.
func gemmBlock(kern *kernel, op *operands, i0, i1, j0, j1 int) {
	ws := getWorkspace(kern, i1-i0, j1-j0, op.k)
	defer workspaces.Put(ws)
	for jc := j0; jc < j1; jc += kern.nc {
		nb := min(kern.nc, j1-jc)
		for pc := 0; pc < op.k; pc += kern.kc {
			kb := min(kern.kc, op.k-pc)
			packB(ws.b, op.b, op.ldb, op.transB, pc, kb, jc, nb, kern.nr)
			beta := op.beta
			if pc > 0 {
				beta = 1 // later K blocks accumulate onto the first
			}
			for ic := i0; ic < i1; ic += kern.mc {
				mb := min(kern.mc, i1-ic)
				if op.transA {
					packA(ws.a, op.a, op.lda, true, ic, mb, pc, kb, kern.mr)
				} else if full := mb / kern.mr * kern.mr; full < mb {
					// Rows are read in place; only a ragged last panel is
					// packed (zero-padded), into the first panel's slot.
					packA(ws.a, op.a, op.lda, false, ic+full, mb-full, pc, kb, kern.mr)
				}
				macroKernel(kern, ws, op, ic, mb, jc, nb, pc, kb, beta)
			}
		}
	}
}

// macroKernel multiplies op(A)[ic:ic+mb, pc:pc+kb] by the packed kb×nb
// block of B into C[ic:ic+mb, jc:jc+nb]. The B panel (jr loop) stays in L1
// while the A panels stream from L2.
//
// Transposed A is packed (its rows are strided in memory); otherwise full
// panels are read in place, which skips the packing that would otherwise
// dominate when n is small, and only a ragged last panel comes packed.
func macroKernel(kern *kernel, ws *workspace, op *operands, ic, mb, jc, nb, pc, kb int, beta float32) {
	mr, nr, ldc := kern.mr, kern.nr, op.ldc
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		bp := &ws.b[jr*kb]
		for ir := 0; ir < mb; ir += mr {
			rows := min(mr, mb-ir)
			ap, aRow, aStep := &ws.a[0], 1, mr // the ragged panel
			switch {
			case op.transA:
				ap = &ws.a[ir*kb]
			case rows == mr:
				ap, aRow, aStep = &op.a[(ic+ir)*op.lda+pc], op.lda, 1
			}
			ci := (ic+ir)*ldc + jc + jr
			if rows == mr && cols == nr {
				kern.run(kb, ap, aRow, aStep, bp, &op.c[ci], ldc, op.alpha, beta)
				continue
			}
			// An edge tile runs the same kernel on a full-size copy, so its
			// elements get exactly the arithmetic of interior ones.
			tile := ws.tile[:mr*nr]
			if beta != 0 {
				for r := 0; r < rows; r++ {
					copy(tile[r*nr:r*nr+cols], op.c[ci+r*ldc:])
				}
			}
			kern.run(kb, ap, aRow, aStep, bp, &tile[0], nr, op.alpha, beta)
			for r := 0; r < rows; r++ {
				copy(op.c[ci+r*ldc:ci+r*ldc+cols], tile[r*nr:])
			}
		}
	}
}

// scaleC sets C = beta*C, writing zeros without reading C when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// checkArgs panics when a dimension is negative or a slice is too short for
// its dimensions and stride.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, len(a), lda)
	checkMatrix("B", br, bc, len(b), ldb)
	checkMatrix("C", m, n, len(c), ldc)
}

func checkMatrix(name string, rows, cols, length, ld int) {
	if ld < cols {
		panic(fmt.Sprintf("gemm: %s is %d×%d but its stride is %d", name, rows, cols, ld))
	}
	if rows > 0 && cols > 0 && length < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s is %d×%d with stride %d and needs %d elements, has %d",
			name, rows, cols, ld, (rows-1)*ld+cols, length))
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
