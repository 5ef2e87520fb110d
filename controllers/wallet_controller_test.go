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

package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

var walletStatusSpecs = func() {
	Describe("Wallet status", func() {
		It("shows debits written without a WalletTransaction within 2 seconds, in coalesced status writes", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			newTx(ns, "grant", topUp("main", "1000", ""))
			w := balanceOf(ns, "main", "1000")

			watcher, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
			Expect(err).NotTo(HaveOccurred())
			wctx, cancel := context.WithCancel(ctx())
			defer cancel()
			watch, err := watcher.Watch(wctx, &billingv1alpha1.WalletList{}, client.InNamespace(ns),
				&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: w.ResourceVersion}})
			Expect(err).NotTo(HaveOccurred())
			var mu sync.Mutex
			var writes []time.Time
			go func() {
				for range watch.ResultChan() {
					mu.Lock()
					writes = append(writes, time.Now())
					mu.Unlock()
				}
			}()

			// 200 usage debits straight into the ledger (as the reports API's
			// usage ingestion does), spread over more than two seconds: a
			// status write must not start a chain of writes while usage comes in
			start := time.Now()
			for i := range 200 {
				_, err := store.Debit(ctx(), ledger.DebitRequest{Wallet: billingv1alpha1.LedgerWalletName(ns, "main"), Key: fmt.Sprint("usage-", i),
					Credits: 2_500_000, Origin: "api"})
				Expect(err).NotTo(HaveOccurred())
				time.Sleep(10 * time.Millisecond)
			}
			posted := time.Since(start)
			Eventually(func() string {
				Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
				return w.Status.Balance
			}, "2s", "20ms").Should(Equal("500"))
			fresh := time.Since(start)
			time.Sleep(1500 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			GinkgoWriter.Printf("200 debits posted in %s; status showed them %s after the first; status writes at %v\n", posted, fresh, writes)
			// one write per second of posting, plus the last: never one per
			// debit, and never two close together (StatusInterval is 1s; half
			// of it leaves room for a slow reconcile)
			Expect(len(writes)).To(BeNumerically("<=", int(posted/time.Second)+3))
			for i := 1; i < len(writes); i++ {
				Expect(writes[i].Sub(writes[i-1])).To(BeNumerically(">=", 500*time.Millisecond), "status writes %d and %d", i, i+1)
			}
			Expect(w.Status.LedgerSequence).To(Equal(int64(201)))
		})

		It("expires credits on time and expires the wallet at expiresAt", func() {
			ns := newNamespace()
			at := metav1.NewTime(time.Now().Add(3 * time.Second).Truncate(time.Second))
			newWallet(ns, "main", func(w *billingv1alpha1.Wallet) { w.Spec.ExpiresAt = &at })
			short := topUp("main", "7", "")
			soon := metav1.NewTime(time.Now().Add(1500 * time.Millisecond))
			short.ExpiresAt = &soon
			newTx(ns, "short", short)
			newTx(ns, "long", topUp("main", "3", ""))
			w := balanceOf(ns, "main", "10")
			Expect(w.Status.NextExpiration).NotTo(BeNil())
			Expect(w.Status.NextExpiration.Credits).To(Equal("7"))
			balanceOf(ns, "main", "3") // the promo expired on time (RequeueAfter, no polling)
			page, err := store.Entries(ctx(), ledger.EntryQuery{Wallet: billingv1alpha1.LedgerWalletName(ns, "main"), Types: []ledger.EntryType{ledger.EntryExpiry}})
			Expect(err).NotTo(HaveOccurred())
			Expect(page.Entries).To(HaveLen(1))
			Expect(page.Entries[0].Credits.String()).To(Equal("-7"))
			Eventually(func() billingv1alpha1.WalletPhase {
				Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
				return w.Status.Phase
			}).Should(Equal(billingv1alpha1.WalletExpired))
			Expect(w.Status.Balance).To(Equal("0"))
		})
	})
}
