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
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

func (e *env) balanceCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "balance [WALLET]",
		Short: "Balances of one wallet or of every wallet in the namespace (-A: all namespaces)",
		Args:  args(0, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := e.connect(); err != nil {
				return err
			}
			var wallets []billingv1alpha1.Wallet
			if len(a) == 1 {
				w, err := e.wallet(cmd, a[0])
				if err != nil {
					return err
				}
				wallets = append(wallets, *w)
			} else {
				list := &billingv1alpha1.WalletList{}
				var opts []client.ListOption
				if !all {
					opts = append(opts, client.InNamespace(e.namespace))
				}
				if err := e.c.List(cmd.Context(), list, opts...); err != nil {
					return err
				}
				wallets = list.Items
			}
			if e.output != "" {
				return e.print(wallets)
			}
			tw := tabwriter.NewWriter(e.out, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAMESPACE\tWALLET\tBALANCE\tPAID\tGRANTED\tPENDING\tMONEY\tRUNS OUT\tPHASE")
			for _, w := range wallets {
				st := w.Status
				m := ""
				if st.MoneyBalance != nil {
					m = st.MoneyBalance.Amount + " " + st.MoneyBalance.Currency
				}
				runsOut := "unknown" // before the operator's first forecast
				switch {
				case st.RunsOutAt != nil:
					runsOut = st.RunsOutAt.UTC().Format("2006-01-02T15:04:05Z")
				case st.ForecastTime != nil || st.Phase != billingv1alpha1.WalletActive:
					runsOut = "none"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w.Namespace, w.Name, st.Balance, st.PaidBalance, st.GrantedBalance,
					st.PendingCredits, m, runsOut, st.Phase)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Every namespace's wallets.")
	return cmd
}

// wallet reads a Wallet, with a clear error when there is none.
func (e *env) wallet(cmd *cobra.Command, name string) (*billingv1alpha1.Wallet, error) {
	w := &billingv1alpha1.Wallet{}
	if err := e.c.Get(cmd.Context(), client.ObjectKey{Namespace: e.namespace, Name: name}, w); err != nil {
		if errors.IsNotFound(err) {
			return nil, fmt.Errorf("wallet %q not found in namespace %s (kubectl get wallets -n %s)", name, e.namespace, e.namespace)
		}
		return nil, err
	}
	return w, nil
}

func (e *env) historyCmd() *cobra.Command {
	var typ, status string
	var limit int
	cmd := &cobra.Command{
		Use:   "history WALLET",
		Short: "The wallet's ledger entries, newest first",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if limit < 1 || limit > 100 {
				return usageError{fmt.Errorf("--limit %d: between 1 and 100", limit)}
			}
			if err := e.connect(); err != nil {
				return err
			}
			if _, err := e.wallet(cmd, a[0]); err != nil {
				return err
			}
			sel := "wallet=" + a[0]
			if typ != "" {
				sel += ",type=" + typ
			}
			if status != "" {
				sel += ",status=" + status
			}
			q := url.Values{"fieldSelector": {sel}, "limit": {fmt.Sprint(limit)}}
			list := &reportsv1alpha1.TransactionList{}
			if err := e.getReports(cmd, "transactions", q, list); err != nil {
				return err
			}
			if e.output != "" {
				return e.print(list)
			}
			tw := tabwriter.NewWriter(e.out, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "TIME\tTYPE\tSTATUS\tCREDITS\tBALANCE AFTER\tORIGIN\tENDPOINT\tKEY")
			for _, t := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Timestamp.UTC().Format("2006-01-02T15:04:05Z"), t.Type, t.Status,
					t.Credits, t.BalanceAfter, t.Origin, t.Endpoint, t.IdempotencyKey)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "Only entries of this type: grant, debit, void, refund, expiry, adjustment or settlement.")
	cmd.Flags().StringVar(&status, "status", "", "Only entries with this status: pending, settled or failed.")
	cmd.Flags().IntVar(&limit, "limit", 20, "How many entries, at most 100.")
	return cmd
}

func (e *env) reportCmd() *cobra.Command {
	var from, to, groupBy string
	var csv bool
	cmd := &cobra.Command{
		Use:   "report WALLET",
		Short: "Consumption per hour, day, week or month, as a bar chart (or --csv, one row per entry)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := e.connect(); err != nil {
				return err
			}
			if _, err := e.wallet(cmd, a[0]); err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"from": from, "to": to, "groupBy": groupBy} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if csv {
				q.Set("format", "csv")
				return e.streamReports(cmd, "consumptionreports/"+a[0], q, e.out)
			}
			r := &reportsv1alpha1.ConsumptionReport{}
			if err := e.getReports(cmd, "consumptionreports/"+a[0], q, r); err != nil {
				return err
			}
			if e.output != "" {
				return e.print(r)
			}
			return barChart(e.out, r)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "Start of the window (RFC 3339 or YYYY-MM-DD; default: 30 days ago).")
	cmd.Flags().StringVar(&to, "to", "", "End of the window, excluded (default: now).")
	cmd.Flags().StringVar(&groupBy, "group-by", "", "hour, day (default), week or month.")
	cmd.Flags().BoolVar(&csv, "csv", false, "Write the window's entries as CSV instead.")
	return cmd
}

func (e *env) runwayCmd() *cobra.Command {
	var days int
	var window string
	var csv bool
	cmd := &cobra.Command{
		Use:   "runway WALLET",
		Short: "When the wallet runs out at its recent usage rate, with its expiries and auto top-ups, day by day (or --csv)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if days < 1 || days > ledger.MaxForecastDays {
				return usageError{fmt.Errorf("--days %d: between 1 and %d", days, ledger.MaxForecastDays)}
			}
			if err := e.connect(); err != nil {
				return err
			}
			if _, err := e.wallet(cmd, a[0]); err != nil {
				return err
			}
			q := url.Values{"days": {fmt.Sprint(days)}}
			if window != "" {
				q.Set("window", window)
			}
			if csv {
				q.Set("format", "csv")
				return e.streamReports(cmd, "forecasts/"+a[0], q, e.out)
			}
			f := &reportsv1alpha1.Forecast{}
			if err := e.getReports(cmd, "forecasts/"+a[0], q, f); err != nil {
				return err
			}
			if e.output != "" {
				return e.print(f)
			}
			name := f.Namespace + "/" + f.Name
			switch {
			case f.RunsOutAt != nil:
				fmt.Fprintf(e.out, "%s runs out at %s (in %.1f days) at %s credits a day over the last %s\n", name,
					f.RunsOutAt.UTC().Format("2006-01-02T15:04:05Z"), f.RunsOutAt.Sub(f.At.Time).Hours()/24, f.RatePerDay, f.Window)
			default:
				fmt.Fprintf(e.out, "%s does not run out within %d days at %s credits a day over the last %s\n", name, len(f.Days), f.RatePerDay, f.Window)
			}
			tw := tabwriter.NewWriter(e.out, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "DAY ENDING\tCONSUMED\tUNSERVED\tTOPPED UP\tEXPIRED\tAVAILABLE\tDEBT")
			for _, d := range f.Days {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.End.UTC().Format("2006-01-02T15:04Z"), d.Consumed, d.Unserved, d.ToppedUp, d.Expired, d.Available, d.Debt)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&days, "days", 30, "How many days to project, 1 to 90.")
	cmd.Flags().StringVar(&window, "window", "", "The trailing window the rate is read from, whole hours (default 168h).")
	cmd.Flags().BoolVar(&csv, "csv", false, "Write the days as CSV instead.")
	return cmd
}

// barChart draws the debited credits of each period as a bar, scaled to
// the largest.
func barChart(w io.Writer, r *reportsv1alpha1.ConsumptionReport) error {
	const width = 40
	var most money.Micros
	debited := make([]money.Micros, len(r.Periods))
	for i, p := range r.Periods {
		d, err := money.Parse(p.Debited)
		if err != nil {
			return fmt.Errorf("period %s: debited %q: %w", p.Start, p.Debited, err)
		}
		debited[i] = d
		most = max(most, d)
	}
	fmt.Fprintf(w, "%s/%s debited per %s, %s to %s\n", r.Namespace, r.Name, r.GroupBy,
		r.From.UTC().Format("2006-01-02T15:04Z"), r.To.UTC().Format("2006-01-02T15:04Z"))
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for i, p := range r.Periods {
		n := 0
		if most > 0 {
			// integer arithmetic: the bar is exact to the character
			n = int(int64(debited[i]) / (int64(most)/width + 1))
			if debited[i] > 0 && n == 0 {
				n = 1
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Start.UTC().Format("2006-01-02T15:04"), strings.Repeat("█", n), p.Debited)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total debited %s in %d debits; credited %s; removed %s\n", r.Totals.Debited, r.Totals.Debits,
		r.Totals.Credited, r.Totals.Removed)
	return err
}

// reportsPath is a namespaced resource of the reports API.
func (e *env) reportsPath(resource string, q url.Values) string {
	u := strings.TrimSuffix(e.cfg.Host, "/") + "/apis/" + reportsv1alpha1.SchemeGroupVersion.String() + "/namespaces/" + e.namespace + "/" + resource
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// getReports GETs a reports API resource into out.
func (e *env) getReports(cmd *cobra.Command, resource string, q url.Values, out any) error {
	body, err := e.reportsBody(cmd, resource, q)
	if err != nil {
		return err
	}
	defer body.Close()
	return json.NewDecoder(body).Decode(out)
}

// streamReports copies a reports API response (CSV) to w.
func (e *env) streamReports(cmd *cobra.Command, resource string, q url.Values, w io.Writer) error {
	body, err := e.reportsBody(cmd, resource, q)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(w, body)
	return err
}

func (e *env) reportsBody(cmd *cobra.Command, resource string, q url.Values) (io.ReadCloser, error) {
	hc, err := rest.HTTPClientFor(e.cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, e.reportsPath(resource, q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	// the API server's Status says why (400 for a bad window, 403, ...)
	st := &metav1.Status{}
	if json.NewDecoder(resp.Body).Decode(st) == nil && st.Message != "" {
		return nil, &errors.StatusError{ErrStatus: *st}
	}
	return nil, fmt.Errorf("%s: %s", resource, resp.Status)
}

// print writes v as JSON or YAML (-o).
func (e *env) print(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if e.output == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
	} else {
		b = append(b, '\n')
	}
	_, err = e.out.Write(b)
	return err
}
