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

// AppliesTo restricts which usage credits may pay for. An empty list means
// no restriction on that dimension.
type AppliesTo struct {
	// Origins that may be paid for, e.g. "api" or "batch".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Origins []string `json:"origins,omitempty"`

	// Endpoints that may be paid for, e.g. "/v1/chat".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Endpoints []string `json:"endpoints,omitempty"`
}

// Condition types shared by both kinds.
const (
	// ConditionReady is true when the object is fully reconciled: a
	// transaction Settled, a wallet in sync with the ledger (Terminated and
	// Expired wallets too: that is what their spec asked for).
	ConditionReady = "Ready"
	// ConditionFunded is false while a wallet can take no more debits: its
	// available balance is at the end of its overdraft (reason Exhausted) or
	// it is Terminated or Expired. The workload gate (config/gating) reads it.
	ConditionFunded = "Funded"
	// ConditionStalled is true while the object cannot make progress until
	// its spec changes: a transaction Failed or Rejected, a wallet with an
	// invalid spec or auto top-up rule. It is the condition kstatus (Flux,
	// kpt, cli-utils) reads as Failed; absent otherwise.
	ConditionStalled = "Stalled"
	// ConditionLowBalance is true when a wallet's available balance is at or
	// below its lowBalanceThreshold.
	ConditionLowBalance = "LowBalance"
	// ConditionLedgerSynced is true when status reflects the ledger.
	ConditionLedgerSynced = "LedgerSynced"
	// ConditionAutoTopUpReady is false while one of a wallet's auto top-up
	// rules is invalid; that rule is disabled, the others run.
	ConditionAutoTopUpReady = "AutoTopUpReady"
)
