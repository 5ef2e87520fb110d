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

package money

import (
	"errors"
	"math"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]Micros{
		"0": 0, "12.5": 12_500_000, "100": 100 * Scale, "0.000001": 1, "-0.000001": -1,
		"007": 7 * Scale, "1.000000": Scale, "999999999999.999999": MaxAmount, "-999999999999.999999": -MaxAmount,
		"-0": 0,
	}
	for in, want := range good {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]error{
		"": ErrSyntax, "-": ErrSyntax, ".5": ErrSyntax, "5.": ErrSyntax, "1e5": ErrSyntax, "+5": ErrSyntax,
		" 5": ErrSyntax, "5 ": ErrSyntax, "1,5": ErrSyntax, "NaN": ErrSyntax, "Inf": ErrSyntax, "--5": ErrSyntax,
		"1.2.3": ErrSyntax, "0x10": ErrSyntax, "١٢": ErrSyntax,
		"1234567890123": ErrTooLarge, "0000000000001": ErrTooLarge, "99999999999999999999999": ErrTooLarge,
		"1.1234567": ErrTooFine, "0.0000001": ErrTooFine,
	}
	for in, want := range bad {
		if _, err := Parse(in); !errors.Is(err, want) {
			t.Errorf("Parse(%q) error = %v, want %v", in, err, want)
		}
	}
}

func TestString(t *testing.T) {
	cases := map[Micros]string{
		0: "0", 1: "0.000001", -1: "-0.000001", 12_500_000: "12.5", 100 * Scale: "100",
		MaxAmount: "999999999999.999999", math.MaxInt64: "9223372036854.775807", math.MinInt64: "-9223372036854.775808",
	}
	for in, want := range cases {
		if got := in.String(); got != want {
			t.Errorf("Micros(%d).String() = %q, want %q", int64(in), got, want)
		}
	}
}

func TestArithmetic(t *testing.T) {
	if _, err := Add(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Add overflow: %v", err)
	}
	if _, err := Add(math.MinInt64, -1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Add underflow: %v", err)
	}
	if _, err := Sub(0, math.MinInt64); !errors.Is(err, ErrOverflow) {
		t.Errorf("Sub overflow: %v", err)
	}
	if v, err := Sub(MustParse("10"), MustParse("0.000001")); err != nil || v.String() != "9.999999" {
		t.Errorf("Sub = %v, %v", v, err)
	}
	rate := []struct{ credits, rate, want string }{
		{"100", "0.01", "1"},
		{"12.345678", "0.01", "0.123457"}, // 0.12345678 rounds half up
		{"0.000001", "0.5", "0.000001"},   // 0.0000005 rounds away from zero
		{"-0.000001", "0.5", "-0.000001"},
		{"999999999999.999999", "1", "999999999999.999999"},
		{"3", "0.333333", "0.999999"},
	}
	for _, c := range rate {
		got, err := MulRate(MustParse(c.credits), MustParse(c.rate))
		if err != nil || got.String() != c.want {
			t.Errorf("MulRate(%s, %s) = %v, %v; want %s", c.credits, c.rate, got, err, c.want)
		}
	}
	if _, err := MulRate(MaxAmount, MustParse("100000")); !errors.Is(err, ErrOverflow) {
		t.Errorf("MulRate overflow: %v", err)
	}
}

// FuzzRoundTrip proves that Parse never panics, that whatever it accepts
// formats back to a string that parses to the same value, and that the
// canonical form is stable.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"0", "12.5", "-0.000001", "999999999999.999999", "1e5", "", "-", "00.10", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		if m > MaxAmount || m < -MaxAmount {
			t.Fatalf("Parse(%q) = %d beyond the limits", s, m)
		}
		out := m.String()
		back, err := Parse(out)
		if err != nil || back != m {
			t.Fatalf("Parse(%q) = %d, formats to %q, parses back to %d, %v", s, m, out, back, err)
		}
		if back.String() != out {
			t.Fatalf("format not stable: %q then %q", out, back.String())
		}
	})
}

// FuzzMicros proves that formatting any int64 parses back (within limits).
func FuzzMicros(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(math.MaxInt64))
	f.Add(int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, v int64) {
		s := Micros(v).String()
		back, err := Parse(s)
		if Micros(v) > MaxAmount || Micros(v) < -MaxAmount {
			if err == nil {
				t.Fatalf("Parse(%q) accepted a value beyond the limits", s)
			}
			return
		}
		if err != nil || back != Micros(v) {
			t.Fatalf("%d -> %q -> %d, %v", v, s, back, err)
		}
	})
}
