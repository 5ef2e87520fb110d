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

package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Amount is an exact, non-negative decimal number of credits (or of money):
// at most 12 integer digits and at most 6 fractional digits. Write it as a
// string ("12.5") or as a bare integer (100); a YAML float such as 12.5
// without quotes is refused, so that no value ever passes through a float.
// +kubebuilder:validation:XIntOrString
// +kubebuilder:validation:Type=""
// +kubebuilder:validation:MaxLength=20
// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= 0 && self <= 999999999999) : self.matches('^[0-9]{1,12}([.][0-9]{1,6})?$')",message="must be a non-negative decimal with at most 12 integer digits and 6 fractional digits, e.g. \"12.5\" (quote decimals in YAML)"
// +k8s:openapi-gen=true
type Amount string

// OpenAPISchemaType and OpenAPISchemaFormat describe Amount to openapi-gen
// (the reports API embeds it) as an int-or-string, like the CRD schema.
func (Amount) OpenAPISchemaType() []string { return []string{"string"} }

// OpenAPISchemaFormat: see OpenAPISchemaType.
func (Amount) OpenAPISchemaFormat() string { return "int-or-string" }

// OpenAPIV3OneOfTypes: see OpenAPISchemaType.
func (Amount) OpenAPIV3OneOfTypes() []string { return []string{"integer", "string"} }

// SignedAmount is an Amount that may be negative: "-12.5" or -100.
// +kubebuilder:validation:XIntOrString
// +kubebuilder:validation:Type=""
// +kubebuilder:validation:MaxLength=20
// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= -999999999999 && self <= 999999999999) : self.matches('^-?[0-9]{1,12}([.][0-9]{1,6})?$')",message="must be a decimal with an optional minus sign, at most 12 integer digits and 6 fractional digits, e.g. \"-12.5\" (quote decimals in YAML)"
type SignedAmount string

// UnmarshalJSON accepts a JSON string or a JSON integer. The integer's
// digits are kept as written; they are never parsed into a float.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s, err := decodeIntOrString(b)
	*a = Amount(s)
	return err
}

// UnmarshalJSON accepts a JSON string or a JSON integer.
func (a *SignedAmount) UnmarshalJSON(b []byte) error {
	s, err := decodeIntOrString(b)
	*a = SignedAmount(s)
	return err
}

func decodeIntOrString(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	// An integer's digits are kept as written. Anything else (a fraction,
	// an exponent) would have passed through a float: refused. In a stored
	// Wallet or WalletTransaction that fails only the object's own
	// decoding (see DecodeError), never the list it is in.
	for i, c := range b {
		if (c < '0' || c > '9') && (i != 0 || c != '-') {
			return "", fmt.Errorf("amount %s: write decimals as quoted strings, e.g. \"12.5\"", b)
		}
	}
	return string(b), nil
}

// String returns the amount as written.
func (a Amount) String() string { return string(a) }

// String returns the amount as written.
func (a SignedAmount) String() string { return string(a) }
