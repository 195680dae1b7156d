package main

import (
	"fmt"
	"strconv"
	"strings"
)

// floatList is a comma-separated list of numbers that prints its value the
// way people write it ("0,0.25,1"), where pflag's float slice prints
// "[0.000000,0.250000,1.000000]" in --help.
type floatList []float64

func (f *floatList) String() string {
	parts := make([]string, len(*f))
	for i, v := range *f {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Set replaces the list (a flag given twice keeps the last list).
func (f *floatList) Set(s string) error {
	var out floatList
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", p)
		}
		out = append(out, v)
	}
	*f = out
	return nil
}

func (f *floatList) Type() string { return "floats" }
