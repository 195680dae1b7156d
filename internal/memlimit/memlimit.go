// Package memlimit turns requests too big for the machine into errors
// before anything is allocated: callers estimate the bytes a request needs
// (with Product and Sum, which saturate instead of wrapping around) and
// Check compares the estimate with the physical memory. Without it an
// absurd size ends in the runtime's "fatal error: out of memory", which
// no caller can handle, after minutes of swapping.
package memlimit

import (
	"fmt"
	"math"
)

// Check returns an error when need bytes exceed the machine's physical
// memory (Physical); what names the request ("KV cache of 5000000
// positions"). Where the platform does not report its memory everything
// passes.
func Check(need int64, what string) error { return CheckLimit(need, Physical(), what) }

// CheckLimit is Check against limit bytes; limit <= 0 means no limit.
func CheckLimit(need, limit int64, what string) error {
	if limit <= 0 || need <= limit {
		return nil
	}
	return fmt.Errorf("%s needs %s of memory, more than this machine's %s", what, Format(need), Format(limit))
}

// Product returns the product of factors, saturating at math.MaxInt64.
// Negative factors are programmer errors (sizes are never negative).
func Product(factors ...int64) int64 {
	p := int64(1)
	for _, f := range factors {
		if f < 0 {
			panic(fmt.Sprintf("memlimit: negative factor %d", f))
		}
		if f == 0 {
			return 0
		}
		if p > math.MaxInt64/f {
			p = math.MaxInt64 // keep scanning: a later zero still wins
			continue
		}
		p *= f
	}
	return p
}

// Sum returns the sum of terms, saturating at math.MaxInt64. Negative
// terms are programmer errors.
func Sum(terms ...int64) int64 {
	s := int64(0)
	for _, t := range terms {
		if t < 0 {
			panic(fmt.Sprintf("memlimit: negative term %d", t))
		}
		if s > math.MaxInt64-t {
			return math.MaxInt64
		}
		s += t
	}
	return s
}

// Format writes a byte count for people: "512 B", "1.5 GiB"; the
// saturated MaxInt64 reads "more than 8 EiB".
func Format(b int64) string {
	if b == math.MaxInt64 {
		return "more than 8 EiB"
	}
	if b < 1024 {
		return fmt.Sprintf("%d B", b)
	}
	v, unit := float64(b), 0
	for v >= 1024 && unit < 6 {
		v /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[unit-1])
}
