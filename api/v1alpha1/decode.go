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
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	kjson "sigs.k8s.io/json"
)

// An informer decodes every object of a kind in one list: one object whose
// stored value its Go type cannot hold (written before a rule existed, or
// under a laxer CRD) would fail the list, and with it every namespace. So
// Wallets and WalletTransactions decode leniently: a spec or status field
// that does not fit is left out, and DecodeError names the spec's, for the
// operator to fail that object alone.

// UnmarshalJSON decodes a Wallet, leniently (see DecodeError).
func (w *Wallet) UnmarshalJSON(b []byte) error {
	type plain Wallet
	msg, err := lenientDecode(b, (*plain)(w))
	w.DecodeError = msg
	return err
}

// UnmarshalJSON decodes a WalletTransaction, leniently (see DecodeError).
func (t *WalletTransaction) UnmarshalJSON(b []byte) error {
	type plain WalletTransaction
	msg, err := lenientDecode(b, (*plain)(t))
	t.DecodeError = msg
	return err
}

func decodeJSON(b []byte, out any) error { return kjson.UnmarshalCaseSensitivePreserveInts(b, out) }

// lenientDecode decodes b into out. When that fails, it drops each field
// of spec and status that fails on its own and decodes the rest; the
// message names the dropped spec fields. Metadata must decode.
func lenientDecode(b []byte, out any) (string, error) {
	if err := decodeJSON(b, out); err == nil {
		return "", nil
	}
	var top map[string]json.RawMessage
	if err := decodeJSON(b, &top); err != nil {
		return "", err
	}
	var problems []string
	for _, part := range []string{"spec", "status"} {
		raw, ok := top[part]
		if !ok {
			continue
		}
		var fields map[string]json.RawMessage
		if err := decodeJSON(raw, &fields); err != nil {
			if part == "spec" {
				problems = append(problems, "spec: "+err.Error())
			}
			delete(top, part)
			continue
		}
		for k, v := range fields {
			probe, _ := json.Marshal(map[string]map[string]json.RawMessage{part: {k: v}})
			if err := decodeJSON(probe, reflect.New(reflect.TypeOf(out).Elem()).Interface()); err != nil {
				if part == "spec" {
					problems = append(problems, "spec."+k+": "+err.Error())
				}
				delete(fields, k)
			}
		}
		top[part], _ = json.Marshal(fields)
	}
	rest, _ := json.Marshal(top)
	reflect.ValueOf(out).Elem().SetZero()
	if err := decodeJSON(rest, out); err != nil {
		return "", err
	}
	if len(problems) == 0 {
		return "", nil
	}
	sort.Strings(problems)
	return "stored value cannot be read: " + strings.Join(problems, "; "), nil
}
