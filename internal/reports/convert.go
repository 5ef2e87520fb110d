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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

func mt(t time.Time) metav1.Time { return metav1.Time{Time: t.UTC()} }

func mtp(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	v := mt(*t)
	return &v
}

func orEmpty(m money.Micros) string {
	if m == 0 {
		return ""
	}
	return m.String()
}

// moneyValue is credits x rate, exact (rounded half away from zero to the
// micro-unit); empty when the product does not fit an amount (over about
// 9.2 trillion), never a wrong number.
func moneyValue(credits, rate money.Micros) string {
	m, err := money.MulRate(credits, rate)
	if err != nil {
		return ""
	}
	return m.String()
}

func balanceObject(namespace, name string, b ledger.Balance) *reportsv1alpha1.Balance {
	out := &reportsv1alpha1.Balance{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Currency:   b.Currency, Rate: b.Rate.String(),
		Balance: b.Available.String(), Paid: b.Paid.String(), Granted: b.Granted.String(),
		Pending: b.Pending.String(), Debt: b.Debt.String(),
		Terminated: b.Terminated, LedgerSequence: b.Sequence, ComputedAt: mt(b.ComputedAt),
	}
	out.MoneyBalance = moneyValue(b.Available, b.Rate)
	if b.NextExpiration != nil {
		out.NextExpiration = &reportsv1alpha1.Expiration{At: mt(b.NextExpiration.At), Credits: b.NextExpiration.Credits.String()}
	}
	return out
}

func grantObject(g ledger.Grant) reportsv1alpha1.Grant {
	return reportsv1alpha1.Grant{
		TransactionKey: g.Key, Category: string(g.Category),
		Original: g.Original.String(), Remaining: g.Remaining.String(),
		Priority: int32(g.Priority), EffectiveAt: mt(g.EffectiveAt), ExpiresAt: mtp(g.ExpiresAt),
		Origins: g.AppliesTo.Origins, Endpoints: g.AppliesTo.Endpoints, Status: string(g.Status),
	}
}

func entryObject(e ledger.Entry) reportsv1alpha1.TransactionEntry {
	return reportsv1alpha1.TransactionEntry{
		ID: e.ID, Sequence: e.Seq, Type: string(e.Type), Status: string(e.Status),
		Credits: e.Credits.String(), Paid: orEmpty(e.Paid), Granted: orEmpty(e.Granted),
		BalanceAfter: e.BalanceAfter.String(), Origin: e.Origin, Endpoint: e.Endpoint,
		Reference: e.Ref, IdempotencyKey: e.Key, Description: e.Description,
		Timestamp: mt(e.Timestamp), AppliedAt: mt(e.AppliedAt),
	}
}

// Payment statuses as the reports API spells them.
var paymentStatuses = map[string]ledger.Status{"pending": ledger.StatusPending, "paid": ledger.StatusSettled, "failed": ledger.StatusFailed}

func paymentObject(namespace, wallet string, b ledger.Balance, e ledger.Entry) reportsv1alpha1.Payment {
	p := reportsv1alpha1.Payment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: e.ID, CreationTimestamp: mt(e.AppliedAt)},
		Wallet:     wallet, Type: "TopUp", Credits: e.Credits.String(), Currency: b.Currency,
		TransactionID: e.ID, IdempotencyKey: e.Key, Reference: e.Ref, Description: e.Description,
		CreatedAt: mt(e.AppliedAt),
	}
	credits := e.Credits
	if e.Type == ledger.EntryRefund {
		p.Type = "Refund"
	} else {
		credits = e.Paid // the money was paid for the paid part
		p.Credits = credits.String()
	}
	for k, v := range paymentStatuses {
		if v == e.Status {
			p.Status = k
		}
	}
	p.Amount = moneyValue(credits, b.Rate)
	return p
}
