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

package controllers

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

func TestTrimFinal(t *testing.T) {
	applied := metav1.Now()
	full := func(phase billingv1alpha1.TransactionPhase, observed int64) *billingv1alpha1.WalletTransaction {
		return &billingv1alpha1.WalletTransaction{
			ObjectMeta: metav1.ObjectMeta{
				Name: "t", Namespace: "ns", UID: "u", ResourceVersion: "7", Generation: 2,
				Labels:        map[string]string{LabelRule: "r"},
				Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			},
			Spec: billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "main"},
				Type: billingv1alpha1.TypeTopUp, Description: "refill", PaidCredits: "10"},
			Status: billingv1alpha1.WalletTransactionStatus{Phase: phase, ObservedGeneration: observed, AppliedAt: &applied,
				TransactionID: "wtx_1", Message: "settled", BalanceAfter: "10"},
		}
	}
	for _, c := range []struct {
		name    string
		in      *billingv1alpha1.WalletTransaction
		trimmed bool
	}{
		{"settled for its spec", full(billingv1alpha1.PhaseSettled, 2), true},
		{"failed for its spec", full(billingv1alpha1.PhaseFailed, 2), true},
		{"settled for an older spec", full(billingv1alpha1.PhaseSettled, 1), false},
		{"pending", full(billingv1alpha1.PhasePending, 2), false},
	} {
		out, err := trimFinal(c.in.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*billingv1alpha1.WalletTransaction)
		if got.ManagedFields != nil {
			t.Errorf("%s: managedFields kept", c.name)
		}
		if !c.trimmed {
			want := c.in.DeepCopy()
			want.ManagedFields = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: changed:\n%+v", c.name, got)
			}
			continue
		}
		if got.Spec.Description != "" || got.Spec.PaidCredits != "" || got.Status.Message != "" || got.Annotations != nil {
			t.Errorf("%s: not trimmed: %+v", c.name, got)
		}
		// what the controllers still read of a final transaction
		if !final(got) || got.Labels[LabelRule] != "r" || got.UID != "u" || got.Spec.WalletRef.Name != "main" ||
			got.Status.AppliedAt == nil || got.Status.TransactionID != "wtx_1" || got.Generation != 2 || got.ResourceVersion != "7" {
			t.Errorf("%s: lost what the controllers read: %+v", c.name, got)
		}
	}
}
