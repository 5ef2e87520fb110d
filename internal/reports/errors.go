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

package reports

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/walletop/wallet-operator/internal/ledger"
)

// Reasons of the Status answered when the ledger refuses a usage debit.
const (
	ReasonInsufficientBalance metav1.StatusReason = "InsufficientBalance"
	ReasonWalletTerminated    metav1.StatusReason = "WalletTerminated"
	ReasonNotApplicable       metav1.StatusReason = "NotApplicable"
	ReasonIdempotencyConflict metav1.StatusReason = "IdempotencyConflict"
)

var walletsResource = schema.GroupResource{Group: "billing.walletop.io", Resource: "wallets"}

func statusError(code int32, reason metav1.StatusReason, msg string) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
	}}
}

// apiError turns a ledger error about wallet `name` into a Kubernetes
// Status: refusals keep the ledger's reason, anything unexpected is a 500.
func apiError(err error, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrWalletNotFound):
		return apierrors.NewNotFound(walletsResource, name)
	case errors.Is(err, ledger.ErrInsufficientBalance):
		return statusError(http.StatusPaymentRequired, ReasonInsufficientBalance,
			fmt.Sprintf("wallet %q: %v; nothing was recorded", name, err))
	case errors.Is(err, ledger.ErrWalletTerminated):
		return statusError(http.StatusConflict, ReasonWalletTerminated,
			fmt.Sprintf("wallet %q is terminated: it refuses new debits; nothing was recorded", name))
	case errors.Is(err, ledger.ErrNotApplicable):
		return statusError(http.StatusConflict, ReasonNotApplicable,
			fmt.Sprintf("wallet %q: %v; nothing was recorded", name, err))
	case errors.Is(err, ledger.ErrConflict):
		return statusError(http.StatusConflict, ReasonIdempotencyConflict,
			fmt.Sprintf("wallet %q: %v; use a new idempotency key for a new event", name, err))
	case errors.Is(err, ledger.ErrInvalid):
		return apierrors.NewBadRequest(err.Error())
	}
	return apierrors.NewInternalError(err)
}
