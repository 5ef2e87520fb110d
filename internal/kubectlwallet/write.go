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

package kubectlwallet

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/money"
)

// writeKind is a subcommand that creates one WalletTransaction type.
type writeKind struct {
	use, short string
	typ        billingv1alpha1.TransactionType
}

var writeKinds = []writeKind{
	{"top-up WALLET (--paid N | --granted N)", "Add paid and/or granted credits", billingv1alpha1.TypeTopUp},
	{"void WALLET --credits N [--grant TOPUP]", "Remove credits (from one top-up's grants, or in drawdown order)", billingv1alpha1.TypeVoid},
	{"refund WALLET --grant TOPUP [--credits N]", "Return a top-up's paid credits", billingv1alpha1.TypeRefund},
	{"adjust WALLET --credits ±N --reason TEXT", "Correct the balance up or down", billingv1alpha1.TypeAdjustment},
	{"debit WALLET --credits N --origin ORIGIN [--endpoint E]", "Consume credits", billingv1alpha1.TypeDebit},
}

// writeFlags are every write subcommand's flags; each takes its own.
type writeFlags struct {
	name, paid, granted, credits, grant, expiresIn, origin, endpoint, reason, description string
	priority                                                                              int32
	dryRun                                                                                bool
	timeout                                                                               time.Duration
}

func (e *env) writeCmd(k writeKind) *cobra.Command {
	f := &writeFlags{}
	cmd := &cobra.Command{
		Use:   k.use,
		Short: k.short + "; waits for the outcome and prints the balance after",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			t, err := f.transaction(k.typ, a[0], cmd.Flags().Changed("priority"))
			if err != nil {
				return usageError{err}
			}
			if f.dryRun {
				ns, _, err := e.flags.Namespace()
				if err != nil {
					return err
				}
				t.Namespace = ns
				return e.printYAML(t)
			}
			if err := e.connect(); err != nil {
				return err
			}
			t.Namespace = e.namespace
			if _, err := e.wallet(cmd, a[0]); err != nil {
				return err
			}
			if err := e.create(cmd, t); err != nil {
				return err
			}
			return e.await(cmd, t, f.timeout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "The WalletTransaction's name (default: derived from the wallet and the values, so that running the same command again changes nothing).")
	fl.StringVar(&f.description, "description", "", "Free text shown in history.")
	fl.BoolVar(&f.dryRun, "dry-run", false, "Print the WalletTransaction as YAML and send nothing.")
	fl.DurationVar(&f.timeout, "timeout", time.Minute, "How long to wait for the outcome.")
	switch k.typ {
	case billingv1alpha1.TypeTopUp:
		fl.StringVar(&f.paid, "paid", "", "Paid credits, e.g. 100 or 12.5.")
		fl.StringVar(&f.granted, "granted", "", "Granted (free, promotional) credits.")
		fl.StringVar(&f.expiresIn, "expires-in", "", "The credits expire this long after they are added, e.g. 720h.")
		fl.Int32Var(&f.priority, "priority", 50, "0-100, lower drawn first.")
	case billingv1alpha1.TypeVoid:
		fl.StringVar(&f.credits, "credits", "", "Credits to remove.")
		fl.StringVar(&f.grant, "grant", "", "The TopUp WalletTransaction to take them from (default: drawdown order).")
	case billingv1alpha1.TypeRefund:
		fl.StringVar(&f.grant, "grant", "", "The TopUp WalletTransaction to refund.")
		fl.StringVar(&f.credits, "credits", "", "Credits to refund (default: what remains of its paid credits).")
	case billingv1alpha1.TypeAdjustment:
		fl.StringVar(&f.credits, "credits", "", "Signed credits, e.g. 5 or -2.5.")
		fl.StringVar(&f.reason, "reason", "", "Why (kept in the ledger).")
	case billingv1alpha1.TypeDebit:
		fl.StringVar(&f.credits, "credits", "", "Credits consumed.")
		fl.StringVar(&f.origin, "origin", "", "Where the usage comes from, e.g. api.")
		fl.StringVar(&f.endpoint, "endpoint", "", "The endpoint used, e.g. /v1/chat.")
	}
	return cmd
}

// amountFlag parses an amount with the operator's own grammar (the one the
// CRD's rules match): nothing malformed is sent.
func amountFlag(flag, v string, signed bool) (money.Micros, error) {
	m, err := money.Parse(v)
	switch {
	case err != nil:
		return 0, fmt.Errorf("--%s: %w", flag, err)
	case m == 0:
		return 0, fmt.Errorf("--%s %q: must not be zero", flag, v)
	case m < 0 && !signed:
		return 0, fmt.Errorf("--%s %q: must be positive", flag, v)
	}
	return m, nil
}

// transaction builds the WalletTransaction the flags describe.
func (f *writeFlags) transaction(typ billingv1alpha1.TransactionType, wallet string, priority bool) (*billingv1alpha1.WalletTransaction, error) {
	spec := billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: wallet}, Type: typ,
		Description: f.description, Origin: f.origin, Endpoint: f.endpoint, Reason: f.reason}
	switch typ {
	case billingv1alpha1.TypeTopUp:
		if f.paid == "" && f.granted == "" {
			return nil, fmt.Errorf("give --paid or --granted credits")
		}
		for flag, v := range map[string]string{"paid": f.paid, "granted": f.granted} {
			if v == "" {
				continue
			}
			if _, err := amountFlag(flag, v, false); err != nil {
				return nil, err
			}
		}
		spec.PaidCredits, spec.GrantedCredits = billingv1alpha1.Amount(f.paid), billingv1alpha1.Amount(f.granted)
		if f.expiresIn != "" {
			d := billingv1alpha1.Duration(f.expiresIn)
			if _, err := d.Parse(); err != nil {
				return nil, fmt.Errorf("--expires-in %q: %w", f.expiresIn, err)
			}
			spec.ExpiresAfter = &d
		}
		if priority {
			if f.priority < 0 || f.priority > 100 {
				return nil, fmt.Errorf("--priority %d: between 0 and 100", f.priority)
			}
			spec.Priority = &f.priority
		}
	case billingv1alpha1.TypeRefund:
		if f.grant == "" {
			return nil, fmt.Errorf("give --grant: the TopUp WalletTransaction to refund")
		}
		if f.credits != "" {
			if _, err := amountFlag("credits", f.credits, false); err != nil {
				return nil, err
			}
		}
	default:
		if f.credits == "" {
			return nil, fmt.Errorf("give --credits")
		}
		if _, err := amountFlag("credits", f.credits, typ == billingv1alpha1.TypeAdjustment); err != nil {
			return nil, err
		}
		if typ == billingv1alpha1.TypeAdjustment && f.reason == "" {
			return nil, fmt.Errorf("give --reason: an adjustment says why")
		}
		if typ == billingv1alpha1.TypeDebit && f.origin == "" {
			return nil, fmt.Errorf("give --origin: where the usage comes from")
		}
	}
	spec.Credits = billingv1alpha1.SignedAmount(f.credits)
	if f.grant != "" {
		spec.GrantRef = &billingv1alpha1.LocalObjectReference{Name: f.grant}
	}
	t := &billingv1alpha1.WalletTransaction{
		TypeMeta:   metav1.TypeMeta{APIVersion: billingv1alpha1.GroupVersion.String(), Kind: "WalletTransaction"},
		ObjectMeta: metav1.ObjectMeta{Name: f.name},
		Spec:       spec,
	}
	if t.Name == "" {
		t.Name = derivedName(spec)
	}
	return t, nil
}

// derivedName names a transaction after its wallet, type and a hash of its
// spec: the same command twice is the same object, applied once.
func derivedName(spec billingv1alpha1.WalletTransactionSpec) string {
	b, _ := json.Marshal(spec)
	sum := sha256.Sum256(b)
	prefix := map[billingv1alpha1.TransactionType]string{billingv1alpha1.TypeTopUp: "topup", billingv1alpha1.TypeVoid: "void",
		billingv1alpha1.TypeRefund: "refund", billingv1alpha1.TypeAdjustment: "adjust", billingv1alpha1.TypeDebit: "debit"}[spec.Type]
	wallet := spec.WalletRef.Name
	if len(wallet) > 200 {
		wallet = wallet[:200]
	}
	return fmt.Sprintf("%s-%s-%x", prefix, wallet, sum[:5])
}

// create creates t, or finds the one an earlier run created. A name taken by
// another spec (--name reused) is an error, never an overwrite.
func (e *env) create(cmd *cobra.Command, t *billingv1alpha1.WalletTransaction) error {
	err := e.c.Create(cmd.Context(), t)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	found := &billingv1alpha1.WalletTransaction{}
	if err := e.c.Get(cmd.Context(), client.ObjectKeyFromObject(t), found); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(found.Spec, t.Spec) {
		return fmt.Errorf("wallettransaction %s/%s exists with another spec: choose another --name", t.Namespace, t.Name)
	}
	*t = *found
	return nil
}

// await waits for the operator's outcome and prints it.
func (e *env) await(cmd *cobra.Command, t *billingv1alpha1.WalletTransaction, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(cmd.Context(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(t), t); err != nil {
			return false, err
		}
		st := t.Status
		return st.ObservedGeneration == t.Generation && st.Phase != "" && st.Phase != billingv1alpha1.PhasePending, nil
	})
	if err != nil && !wait.Interrupted(err) {
		return err
	}
	if e.output != "" {
		if perr := e.print(t); perr != nil {
			return perr
		}
	}
	st := t.Status
	name := t.Namespace + "/" + t.Name
	switch st.Phase {
	case billingv1alpha1.PhaseSettled:
		if e.output == "" {
			fmt.Fprintf(e.out, "wallettransaction %s Settled as %s: %s credits, balance after %s\n", name, st.TransactionID, st.Credits, st.BalanceAfter)
		}
		return nil
	case billingv1alpha1.PhaseFailed, billingv1alpha1.PhaseRejected:
		return refusedError{fmt.Errorf("wallettransaction %s %s %s: %s", name, st.Phase, st.Reason, st.Message)}
	}
	return refusedError{fmt.Errorf("wallettransaction %s still Pending after %s: %s: %s", name, timeout, st.Reason, st.Message)}
}

// printYAML writes t as the manifest a user would have written: no status.
func (e *env) printYAML(t *billingv1alpha1.WalletTransaction) error {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(t)
	if err != nil {
		return err
	}
	delete(content, "status")
	unstructured.RemoveNestedField(content, "metadata", "creationTimestamp")
	b, err := yaml.Marshal(content)
	if err != nil {
		return err
	}
	_, err = e.out.Write(b)
	return err
}
