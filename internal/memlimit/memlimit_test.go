package memlimit

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestProductAndSumSaturate(t *testing.T) {
	for _, c := range []struct {
		f    []int64
		want int64
	}{
		{nil, 1},
		{[]int64{6, 7}, 42},
		{[]int64{1 << 31, 1 << 31}, 1 << 62},
		{[]int64{1 << 32, 1 << 32}, math.MaxInt64},
		{[]int64{10_000_000, 10_000_000, 10_000_000, 4}, math.MaxInt64},
		{[]int64{math.MaxInt64, 3, 0}, 0}, // a zero after saturation still gives 0
	} {
		if got := Product(c.f...); got != c.want {
			t.Errorf("Product(%v) = %d, want %d", c.f, got, c.want)
		}
	}
	if got := Sum(1, 2, 3); got != 6 {
		t.Errorf("Sum(1, 2, 3) = %d", got)
	}
	if got := Sum(math.MaxInt64-1, 2); got != math.MaxInt64 {
		t.Errorf("Sum near MaxInt64 = %d, want saturation", got)
	}
}

func TestCheckLimit(t *testing.T) {
	if err := CheckLimit(1<<30, 1<<30, "x"); err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
	if err := CheckLimit(math.MaxInt64, 0, "x"); err != nil {
		t.Errorf("no limit: %v", err)
	}
	err := CheckLimit(3<<30, 2<<30, "KV cache of 9 positions")
	if err == nil || !strings.Contains(err.Error(), "KV cache of 9 positions needs 3.0 GiB of memory, more than this machine's 2.0 GiB") {
		t.Errorf("over the limit: %v", err)
	}
	if err := CheckLimit(math.MaxInt64, 1<<30, "x"); err == nil || !strings.Contains(err.Error(), "more than 8 EiB") {
		t.Errorf("saturated estimate: %v", err)
	}
}

func TestFormat(t *testing.T) {
	for b, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 40: "5.0 TiB", 3 << 60: "3.0 EiB"} {
		if got := Format(b); got != want {
			t.Errorf("Format(%d) = %q, want %q", b, got, want)
		}
	}
}

// TestPhysicalMatchesProc compares sysinfo's total with /proc/meminfo's
// MemTotal, an independent source, on Linux.
func TestPhysicalMatchesProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		if Physical() != 0 {
			t.Fatal("Physical reports memory where it is not read")
		}
		return
	}
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip(err)
	}
	var kb int64
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if kb == 0 {
		t.Skip("no MemTotal in /proc/meminfo")
	}
	if got := Physical(); got/1024 != kb {
		t.Fatalf("Physical() = %d bytes, /proc/meminfo MemTotal %d kB", got, kb)
	}
	if err := Check(Physical()+1, "one byte more"); err == nil {
		t.Fatal("Check accepted more than the physical memory")
	}
}
