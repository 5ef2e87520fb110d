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

import "strings"

// The names these objects have in the ledger, shared by the controllers that
// write it and the reports API that reads it.

// LedgerWalletName is the ledger's name of the Wallet namespace/name.
func LedgerWalletName(namespace, name string) string { return namespace + "/" + name }

// LedgerKey is the default idempotency key of the WalletTransaction
// namespace/name (spec.idempotencyKey overrides it).
func LedgerKey(namespace, name string) string { return namespace + "/" + name }

// ParseLedgerWalletName splits a ledger wallet name back into the Wallet's
// namespace and name.
func ParseLedgerWalletName(ledgerName string) (namespace, name string, ok bool) {
	return strings.Cut(ledgerName, "/")
}
