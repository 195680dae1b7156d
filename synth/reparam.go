package synth

import (
	"fmt"
	"math"
	"strings"
)

// Reparam is an output reparameterization ("OutRep"): the model is trained
// to predict f(target) and its prediction y is mapped back with f^-1(y).
//
// A model can output any real number, including values outside f's image
// (a negative y for sqrt, y <= 0 for 1/sqrt) or values whose inverse is
// astronomically large (exp(700)). Inv therefore clamps y into the closure
// of f's image, inverts, and caps the result at InvCap, so every prediction
// maps to a definite, finite target:
//
//	identity  f(x) = x          f^-1(y) = min(y, 1e6)
//	sqrt      f(x) = sqrt(x)    f^-1(y) = min(max(y, 0)^2, 1e6)
//	log       f(x) = ln(x)      f^-1(y) = min(exp(y), 1e6)
//	inv-sqrt  f(x) = 1/sqrt(x)  f^-1(y) = min(1/y^2, 1e6) for y > 0, 1e6 for y <= 0
type Reparam struct {
	Name  string
	About string // the pair f, f^-1 in words

	f, inv func(float64) float64
}

// InvCap is the largest value Inv returns: a prediction that means "longer
// than anything" (inv-sqrt y <= 0, say) reads as 1e6, which keeps a mean
// squared error finite but huge.
const InvCap = 1e6

// Identity is the name of the reparameterization that changes nothing.
const Identity = "identity"

// F maps a target into the space the model is trained in. x must be
// positive (tasks with Reparams set guarantee x >= 1).
func (p Reparam) F(x float64) float64 { return p.f(x) }

// Inv maps a prediction back to target space (see the type's comment).
func (p Reparam) Inv(y float64) float64 { return min(p.inv(y), InvCap) }

// Reparams returns every built-in reparameterization, identity first.
func Reparams() []Reparam {
	return []Reparam{
		{Name: Identity, About: "f(x) = x",
			f: func(x float64) float64 { return x }, inv: func(y float64) float64 { return y }},
		{Name: "sqrt", About: "f(x) = sqrt(x), f^-1(y) = max(y,0)^2",
			f: math.Sqrt, inv: func(y float64) float64 { y = max(y, 0); return y * y }},
		{Name: "log", About: "f(x) = ln(x), f^-1(y) = exp(y)", f: math.Log, inv: math.Exp},
		{Name: "inv-sqrt", About: "f(x) = 1/sqrt(x), f^-1(y) = 1/y^2 (y <= 0 reads as the cap)",
			f: func(x float64) float64 { return 1 / math.Sqrt(x) }, inv: invSqrtInverse},
	}
}

func invSqrtInverse(y float64) float64 {
	if y <= 0 {
		return math.Inf(1) // beyond any length; Inv caps it
	}
	return 1 / (y * y)
}

// ReparamNames lists the built-in reparameterization names in order.
func ReparamNames() []string {
	var names []string
	for _, p := range Reparams() {
		names = append(names, p.Name)
	}
	return names
}

// ReparamByName returns the built-in reparameterization with that name.
func ReparamByName(name string) (Reparam, error) {
	for _, p := range Reparams() {
		if p.Name == name {
			return p, nil
		}
	}
	return Reparam{}, fmt.Errorf("unknown reparameterization %q (known: %s)", name, strings.Join(ReparamNames(), ", "))
}
