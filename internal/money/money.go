/*
Copyright 2026 The wallet-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package money holds exact amounts of credits (or of money) as int64
// micro-units (10^-6), parsed from and formatted to decimal strings. There
// is no float anywhere: a value is digits in, digits out.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Scale is the number of micro-units in one unit.
const Scale = 1_000_000

// Digits limits: at most MaxIntDigits integer and MaxFracDigits fractional digits.
const (
	MaxIntDigits  = 12
	MaxFracDigits = 6
)

// Micros is an exact amount in micro-units.
type Micros int64

// MaxAmount is the largest amount a user may write: 999999999999.999999.
const MaxAmount Micros = 999_999_999_999_999_999

// Errors returned by Parse and the checked arithmetic.
var (
	ErrSyntax   = errors.New("not a decimal number")
	ErrTooLarge = errors.New("more than 12 integer digits")
	ErrTooFine  = errors.New("more than 6 fractional digits")
	ErrOverflow = errors.New("amount overflow")
)

// Parse reads an exact decimal: an optional '-', 1 to 12 digits, and
// optionally '.' followed by 1 to 6 digits. Exponents, '+', spaces,
// thousands separators, "NaN" and "Inf" are refused.
func Parse(s string) (Micros, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("%q: %w", orig, ErrSyntax)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("%q: %w", orig, ErrSyntax)
			}
		}
	}
	if len(intPart) > MaxIntDigits {
		return 0, fmt.Errorf("%q: %w", orig, ErrTooLarge)
	}
	if len(frac) > MaxFracDigits {
		return 0, fmt.Errorf("%q: %w", orig, ErrTooFine)
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		v = v*10 + int64(intPart[i]-'0')
	}
	v *= Scale
	var f int64
	for i := 0; i < MaxFracDigits; i++ {
		f *= 10
		if i < len(frac) {
			f += int64(frac[i] - '0')
		}
	}
	v += f
	if neg {
		v = -v
	}
	return Micros(v), nil
}

// MustParse is Parse for constants in tests and defaults; it panics on error.
func MustParse(s string) Micros {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

// String formats the amount with as few fractional digits as it needs:
// "12.5", "100", "-0.000001".
func (m Micros) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-(m + 1)) + 1 // |MinInt64| fits in uint64
	}
	s := strconv.FormatUint(u/Scale, 10)
	if frac := u % Scale; frac != 0 {
		fs := strconv.FormatUint(frac+Scale, 10)[1:] // zero-padded to 6 digits
		s += "." + strings.TrimRight(fs, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Add returns a+b, or ErrOverflow.
func Add(a, b Micros) (Micros, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, ErrOverflow
	}
	return s, nil
}

// Sub returns a-b, or ErrOverflow.
func Sub(a, b Micros) (Micros, error) {
	if b == math.MinInt64 {
		return 0, ErrOverflow
	}
	return Add(a, -b)
}

// MulRate returns credits x rate (both in micro-units), rounded half away
// from zero to micro-units of money, or ErrOverflow.
func MulRate(credits, rate Micros) (Micros, error) {
	hi, lo := bits.Mul64(abs(credits), abs(rate))
	if hi >= Scale {
		return 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, Scale)
	if r*2 >= Scale {
		q++
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	v := Micros(q)
	if (credits < 0) != (rate < 0) {
		v = -v
	}
	return v, nil
}

func abs(m Micros) uint64 {
	if m < 0 {
		return uint64(-(m + 1)) + 1
	}
	return uint64(m)
}
