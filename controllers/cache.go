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
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// CacheOptions are the informer cache's options the controllers are
// written for: no object keeps its managedFields (nothing reads them), and
// a WalletTransaction in its final phase for its spec keeps only what the
// controllers still read of it (see trimFinal). Settled transactions pile
// up in a GitOps repository's namespaces; this keeps each one small.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&billingv1alpha1.WalletTransaction{}: {Transform: trimFinal},
		},
	}
}

// trimFinal keeps of a final WalletTransaction (Settled, Failed or Rejected
// for its current generation) its identity and metadata, spec.walletRef and
// spec.type, and the status fields final() and the auto top-up TTL read:
// phase, observedGeneration, appliedAt, transactionID. Everything else is
// only read while a transaction is being applied, and a spec change (a new
// generation) arrives as a new, whole object. Annotations go too: a
// kubectl-applied object carries its whole manifest in one.
func trimFinal(obj any) (any, error) {
	obj, err := cache.TransformStripManagedFields()(obj)
	t, ok := obj.(*billingv1alpha1.WalletTransaction)
	if err != nil || !ok || !final(t) {
		return obj, err
	}
	// Strings that many transactions share are kept once (each decoded
	// object brings its own copies).
	return &billingv1alpha1.WalletTransaction{
		TypeMeta: metav1.TypeMeta{Kind: intern(t.Kind), APIVersion: intern(t.APIVersion)},
		ObjectMeta: metav1.ObjectMeta{
			Name: t.Name, Namespace: intern(t.Namespace), UID: t.UID, ResourceVersion: t.ResourceVersion,
			Generation: t.Generation, CreationTimestamp: t.CreationTimestamp, DeletionTimestamp: t.DeletionTimestamp,
			Labels: t.Labels, OwnerReferences: t.OwnerReferences, Finalizers: t.Finalizers,
		},
		Spec: billingv1alpha1.WalletTransactionSpec{
			WalletRef: billingv1alpha1.LocalObjectReference{Name: intern(t.Spec.WalletRef.Name)},
			Type:      billingv1alpha1.TransactionType(intern(string(t.Spec.Type))),
		},
		Status: billingv1alpha1.WalletTransactionStatus{
			Phase: billingv1alpha1.TransactionPhase(intern(string(t.Status.Phase))), ObservedGeneration: t.Status.ObservedGeneration,
			AppliedAt: t.Status.AppliedAt, TransactionID: t.Status.TransactionID,
		},
	}, nil
}

// intern returns the one copy of s that every cached object shares.
func intern(s string) string { return unique.Make(s).Value() }
