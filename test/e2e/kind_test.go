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

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/money"
	"github.com/walletop/wallet-operator/internal/testenv"
)

// Specs that need the operator deployed from config/default into a real
// cluster (hack/kind/e2e.sh): a kubelet, a Pod network, Services,
// PersistentVolumes and a kube-controller-manager.
const (
	operatorNS     = localcluster.OperatorNamespace
	operatorLabels = "app.kubernetes.io/component=controller-manager"
	reportsAPI     = "/apis/reports.walletop.io/v1alpha1"
	apiService     = "v1alpha1.reports.walletop.io"
)

func deployedOnly() {
	if local != nil {
		Skip("needs the operator deployed in a real cluster (make test-e2e-kind)")
	}
}

// operatorPods returns the names of the operator's Pods that are not being
// deleted.
func operatorPods() []string {
	out, _ := kubectlErr("get", "pods", "-n", operatorNS, "-l", operatorLabels, "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}`)
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 1 { // no deletionTimestamp
			names = append(names, f[0])
		}
	}
	return names
}

// waitOperatorReady waits until the Deployment and the reports APIService are
// Available again.
func waitOperatorReady() {
	GinkgoHelper()
	kubectl("rollout", "status", "-n", operatorNS, "deploy/wallet-operator-controller-manager", "--timeout=180s")
	kubectl("wait", "apiservice/"+apiService, "--for=condition=Available", "--timeout=180s")
}

// tokenKubeconfig writes a kubeconfig that authenticates with a
// ServiceAccount token only (the admin kubeconfig's client certificate
// would win over --token).
func tokenKubeconfig(dir, namespace, serviceAccount string) string {
	GinkgoHelper()
	server := kubectl("config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}")
	ca := kubectl("config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	token := strings.TrimSpace(kubectl("create", "token", serviceAccount, "-n", namespace, "--duration=1h"))
	path := filepath.Join(dir, serviceAccount+".kubeconfig")
	Expect(os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: u, user: {token: %s}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, server, ca, token)), 0o600)).To(Succeed())
	return path
}

// walletYAML is a namespace with a USD Wallet "main" and, unless topUp is
// empty, a top-up "grant" of that spec (e.g. `paidCredits: "40"`).
func walletYAML(ns, topUp string) string {
	y := fmt.Sprintf(`---
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: %[1]s}
spec: {currency: USD}
`, ns)
	if topUp != "" {
		y += fmt.Sprintf(`---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: grant, namespace: %s}
spec: {walletRef: {name: main}, type: TopUp, %s}
`, ns, topUp)
	}
	return y
}

// as runs kubectl with another kubeconfig.
func as(kubeconfigPath string, args ...string) (string, error) {
	return kubectlErr(append([]string{"--kubeconfig", kubeconfigPath}, args...)...)
}

var _ = Describe("on a real cluster: the reports API through its Service, as ServiceAccounts", Ordered, func() {
	const ns, other = "e2e-tokens", "e2e-tokens-other"
	BeforeAll(func() {
		deployedOnly()
		applyYAML(walletYAML(ns, `grantedCredits: "25"`) + walletYAML(other, "") + fmt.Sprintf(`---
apiVersion: v1
kind: ServiceAccount
metadata: {name: finance, namespace: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: outsider, namespace: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: metering, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: finance-balances, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wallet-balance-viewer}
subjects: [{kind: ServiceAccount, name: finance, namespace: %[1]s}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: metering-usage, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wallet-usage-writer}
subjects: [{kind: ServiceAccount, name: metering, namespace: %[1]s}]
`, ns))
		Eventually(func() string {
			out, _ := kubectlErr("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.balance}")
			return out
		}).WithTimeout(60 * time.Second).Should(Equal("25"))
	})

	It("answers within each role and 403 where it ends", func() {
		dir := GinkgoT().TempDir()
		finance := tokenKubeconfig(dir, ns, "finance")
		outsider := tokenKubeconfig(dir, ns, "outsider")
		metering := tokenKubeconfig(dir, ns, "metering")

		out, err := as(finance, "get", "--raw", reportsAPI+"/namespaces/"+ns+"/balances/main")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`"balance":"25"`))
		for _, path := range []string{
			"/namespaces/" + ns + "/transactions",            // not in wallet-balance-viewer
			"/namespaces/" + other + "/balances",             // another namespace
			"/namespaces/" + ns + "/consumptionreports/main", // not in wallet-balance-viewer
		} {
			out, err := as(finance, "get", "--raw", reportsAPI+path)
			Expect(err).To(HaveOccurred(), path)
			Expect(out).To(ContainSubstring("Forbidden"), path)
		}
		out, err = as(finance, "get", "wallets", "-n", ns)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("forbidden"))

		out, err = as(outsider, "get", "--raw", reportsAPI+"/namespaces/"+ns+"/balances")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("Forbidden"))

		usage := filepath.Join(dir, "usage.json")
		Expect(os.WriteFile(usage, []byte(`{"apiVersion":"reports.walletop.io/v1alpha1","kind":"Usage",
"metadata":{"name":"call-1"},"spec":{"wallet":"main","credits":"2.5","origin":"api","endpoint":"/v1/chat"}}`), 0o600)).To(Succeed())
		out, err = as(metering, "create", "--raw", reportsAPI+"/namespaces/"+ns+"/usages", "-f", usage)
		Expect(err).NotTo(HaveOccurred(), out)
		out, err = as(finance, "create", "--raw", reportsAPI+"/namespaces/"+ns+"/usages", "-f", usage)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("Forbidden"))
		out, err = as(finance, "get", "--raw", reportsAPI+"/namespaces/"+ns+"/balances/main")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`"balance":"22.5"`))
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, other, "--wait=false")
	})
})

var _ = Describe("on a real cluster: the aggregated roles", Ordered, func() {
	const ns = "e2e-roles"
	BeforeAll(func() {
		deployedOnly()
		applyYAML(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-viewer}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editor, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-editor}]
`, ns))
	})

	// The README's roles table: what view and edit grant on the operator's APIs.
	DescribeTable("grant what the README says",
		func(verb, resource string, viewer, editor bool) {
			can := func(user string) string {
				out, _ := kubectlErr("auth", "can-i", verb, resource, "-n", ns, "--as", user)
				return strings.TrimSpace(out)
			}
			yes := map[bool]string{true: "yes", false: "no"}
			// the kube-controller-manager aggregates the rules asynchronously
			Eventually(func() string { return can("e2e-viewer") }).WithTimeout(30 * time.Second).Should(Equal(yes[viewer]))
			Eventually(func() string { return can("e2e-editor") }).WithTimeout(30 * time.Second).Should(Equal(yes[editor]))
		},
		Entry(nil, "get", "balances.reports.walletop.io", true, true),
		Entry(nil, "list", "balances.reports.walletop.io", true, true),
		Entry(nil, "get", "forecasts.reports.walletop.io", true, true),
		Entry(nil, "get", "consumptionreports.reports.walletop.io", true, true),
		Entry(nil, "list", "transactions.reports.walletop.io", true, true),
		Entry(nil, "list", "payments.reports.walletop.io", true, true),
		Entry(nil, "create", "usages.reports.walletop.io", false, true),
		Entry(nil, "create", "usagebatches.reports.walletop.io", false, true),
		Entry(nil, "create", "previews.reports.walletop.io", true, true),
		Entry(nil, "list", "wallets.billing.walletop.io", true, true),
		Entry(nil, "get", "wallettransactions.billing.walletop.io", true, true),
		Entry(nil, "create", "wallets.billing.walletop.io", false, true),
		Entry(nil, "create", "wallettransactions.billing.walletop.io", false, true),
		Entry(nil, "delete", "wallettransactions.billing.walletop.io", false, true),
	)

	It("are enforced by the reports API itself", func() {
		applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: %s}
spec: {currency: EUR}
`, ns))
		Eventually(func() error {
			_, err := kubectlErr("get", "--raw", reportsAPI+"/namespaces/"+ns+"/balances/main", "--as", "e2e-viewer")
			return err
		}).WithTimeout(60 * time.Second).Should(Succeed())
		out, err := kubectlErr("get", "--raw", reportsAPI+"/namespaces/default/balances", "--as", "e2e-viewer")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("Forbidden"))
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
	})
})

// load is a batch of WalletTransactions over several wallets, each wallet
// one top-up of 1000 and perWallet-1 debits, with the balances computed by
// hand.
type load struct {
	ns     string
	chunks []string
	want   map[string]money.Micros
	total  int
}

func newLoad(ns string, wallets, perWallet int) load {
	GinkgoHelper()
	l := load{ns: ns, want: map[string]money.Micros{}, total: wallets * perWallet}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
	for w := range wallets {
		name := fmt.Sprintf("w%02d", w)
		fmt.Fprintf(&b, `---
apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: %[1]s, namespace: %[2]s}
spec: {currency: USD}
---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: %[1]s-topup, namespace: %[2]s}
spec: {walletRef: {name: %[1]s}, type: TopUp, paidCredits: "1000"}
`, name, ns)
		l.want[name] = money.MustParse("1000")
	}
	l.chunks = append(l.chunks, b.String())
	b.Reset()
	for d := 1; d < perWallet; d++ {
		for w := range wallets {
			name := fmt.Sprintf("w%02d", w)
			credits := money.MustParse(fmt.Sprintf("%d.%02d", (d+w)%7, (d*w)%100))
			if credits == 0 {
				credits = money.MustParse("0.01")
			}
			var err error
			l.want[name], err = money.Sub(l.want[name], credits)
			Expect(err).NotTo(HaveOccurred())
			fmt.Fprintf(&b, `---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: %[1]s-debit-%03[3]d, namespace: %[2]s}
spec: {walletRef: {name: %[1]s}, type: Debit, credits: %[4]q, origin: api, endpoint: /v1/chat}
`, name, ns, d, credits.String())
		}
		if d%10 == 0 || d == perWallet-1 {
			l.chunks = append(l.chunks, b.String())
			b.Reset()
		}
	}
	return l
}

// start applies the load chunk by chunk in the background; the channel
// receives the first error, or nil once every chunk is applied. The debits
// follow once the top-ups have settled: the operator applies transactions in
// no set order, and a debit that finds no credit fails, as it should.
func (l load) start(dir string) <-chan error {
	applied := make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		for i, chunk := range l.chunks {
			path := filepath.Join(dir, fmt.Sprintf("chunk-%02d.yaml", i))
			if err := os.WriteFile(path, []byte(chunk), 0o600); err != nil {
				applied <- err
				return
			}
			if out, err := kubectlErr("apply", "--server-side", "-f", path); err != nil {
				applied <- fmt.Errorf("%s: %w\n%s", path, err, out)
				return
			}
			if i == 0 {
				deadline := time.Now().Add(5 * time.Minute)
				for l.settled() < len(l.want) {
					if time.Now().After(deadline) {
						applied <- fmt.Errorf("the %d top-ups did not settle within 5 minutes", len(l.want))
						return
					}
					time.Sleep(time.Second)
				}
			}
		}
		applied <- nil
	}()
	return applied
}

func (l load) settled() int {
	out, _ := kubectlErr("get", "wtx", "-n", l.ns, "-o", `jsonpath={range .items[*]}{.status.phase}{"\n"}{end}`)
	return strings.Count(out, "Settled")
}

// check waits for every transaction to settle, then compares each wallet's
// status and live balance with the hand-computed one and counts one ledger
// entry per transaction.
func (l load) check(applied <-chan error) {
	GinkgoHelper()
	Eventually(applied).WithTimeout(10 * time.Minute).Should(Receive(BeNil()))
	Eventually(l.settled).WithTimeout(10*time.Minute).WithPolling(2*time.Second).Should(Equal(l.total),
		"every transaction settles once the load ends")
	out := kubectl("get", "wtx", "-n", l.ns, "-o", `jsonpath={range .items[*]}{.status.transactionID}{"\n"}{end}`)
	ids := map[string]bool{}
	for _, id := range strings.Fields(out) {
		ids[id] = true
	}
	Expect(ids).To(HaveLen(l.total), "one ledger entry per transaction")
	for name, balance := range l.want {
		Eventually(func() string {
			out, _ := kubectlErr("get", "wallet", name, "-n", l.ns, "-o", "jsonpath={.status.balance}")
			return out
		}).WithTimeout(60*time.Second).Should(Equal(balance.String()), "wallet %s", name)
		// Right after a kill the aggregator may still answer 503 until it
		// reaches the new Pod: a retry, not a lost entry. The balance read
		// must then be exact.
		var raw string
		Eventually(func() error {
			var err error
			raw, err = kubectlErr("get", "--raw", reportsAPI+"/namespaces/"+l.ns+"/balances/"+name)
			return err
		}).WithTimeout(60*time.Second).WithPolling(2*time.Second).Should(Succeed(), "live balance of %s", name)
		var live struct{ Balance string }
		Expect(json.Unmarshal([]byte(raw), &live)).To(Succeed())
		Expect(live.Balance).To(Equal(balance.String()), "live balance of %s", name)
	}
}

// verifyLedger runs `wallet-operator ledger verify` in an operator Pod, on
// the ledger it is configured with.
func verifyLedger(args ...string) {
	GinkgoHelper()
	waitOperatorReady()
	verify := kubectl(append([]string{"exec", "-n", operatorNS, "deploy/wallet-operator-controller-manager", "--",
		"/wallet-operator", "ledger", "verify"}, args...)...)
	GinkgoWriter.Println(verify)
	Expect(verify).To(ContainSubstring("OK: no inconsistency"))
}

var _ = Describe("on a real cluster: the operator Pod force-deleted under load", Ordered, func() {
	const ns, wallets, perWallet, kills = "e2e-load", 20, 100, 10
	BeforeAll(deployedOnly)

	It("loses and doubles nothing, and the ledger verifies clean", func() {
		l := newLoad(ns, wallets, perWallet)
		applied := l.start(GinkgoT().TempDir())
		for k := 1; k <= kills; k++ {
			Eventually(operatorPods).WithTimeout(3 * time.Minute).Should(HaveLen(1))
			// let the new Pod take the lease and apply a few entries first
			before := l.settled()
			Eventually(l.settled).WithTimeout(3*time.Minute).WithPolling(200*time.Millisecond).
				Should(BeNumerically(">", before), "no transaction settled before kill %d", k)
			pod := operatorPods()[0]
			kubectl("delete", "pod", "-n", operatorNS, pod, "--force", "--grace-period=0")
			GinkgoWriter.Printf("kill %d: %s force-deleted with %d of %d transactions settled\n", k, pod, l.settled(), l.total)
		}
		l.check(applied)
		verifyLedger("--ledger", "sqlite:///var/lib/wallet-operator/ledger.db")
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
	})
})

var _ = Describe("on a real cluster: two replicas on a PostgreSQL ledger", Label("postgres"), Ordered, func() {
	const ns, wallets, perWallet = "e2e-postgres", 10, 100
	BeforeAll(func() {
		deployedOnly()
		if os.Getenv("E2E_POSTGRES_DSN") == "" {
			Skip("E2E_POSTGRES_DSN is not set: make test-e2e-kind deploys config/overlays/postgres and sets it")
		}
	})
	leader := func() string { return leaseHolder(operatorNS) }

	It("moves leadership when the leader's Pod goes mid-load, losing and doubling nothing", func() {
		Eventually(operatorPods).WithTimeout(3 * time.Minute).Should(HaveLen(2))
		l := newLoad(ns, wallets, perWallet)
		applied := l.start(GinkgoT().TempDir())
		// once gracefully (the lease is released), once with grace 0 (the
		// lease must expire first)
		for _, force := range []bool{false, true} {
			Eventually(leader).WithTimeout(2 * time.Minute).Should(BeElementOf(operatorPods()))
			before := l.settled()
			Eventually(l.settled).WithTimeout(3 * time.Minute).WithPolling(200 * time.Millisecond).Should(BeNumerically(">", before))
			old := leader()
			args := []string{"delete", "pod", "-n", operatorNS, old, "--wait=false"}
			if force {
				args = append(args, "--force", "--grace-period=0")
			}
			kubectl(args...)
			GinkgoWriter.Printf("leader %s deleted (force %v) with %d of %d transactions settled\n", old, force, l.settled(), l.total)
			Eventually(func() string {
				if now := leader(); now != old {
					return now
				}
				return ""
			}).WithTimeout(2*time.Minute).ShouldNot(BeEmpty(), "leadership moves off %s", old)
			GinkgoWriter.Printf("new leader %s\n", leader())
		}
		l.check(applied)
		// the Pod's $WALLET_OPERATOR_LEDGER names the PostgreSQL ledger
		verifyLedger()
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
	})
})

var _ = Describe("on a real cluster: restarts and certificates", Ordered, func() {
	const ns = "e2e-restart"
	BeforeAll(func() {
		deployedOnly()
		applyYAML(walletYAML(ns, `paidCredits: "40"`))
	})
	liveBalance := func() string {
		out, err := kubectlErr("get", "--raw", reportsAPI+"/namespaces/"+ns+"/balances/main")
		if err != nil {
			return err.Error()
		}
		var live struct{ Balance string }
		_ = json.Unmarshal([]byte(out), &live)
		return live.Balance
	}

	It("keeps the ledger on its PersistentVolume across the Pod's restart", func() {
		Eventually(liveBalance).WithTimeout(60 * time.Second).Should(Equal("40"))
		volume := kubectl("get", "pvc", "wallet-operator-ledger", "-n", operatorNS, "-o", "jsonpath={.spec.volumeName}")
		Expect(volume).NotTo(BeEmpty())
		pods := operatorPods()
		kubectl("delete", "pod", "-n", operatorNS, "-l", operatorLabels, "--wait=true")
		Eventually(operatorPods).WithTimeout(3 * time.Minute).ShouldNot(ConsistOf(pods))
		waitOperatorReady()
		// the new Pod reads the balance back from the ledger, not from status
		Eventually(liveBalance).WithTimeout(60 * time.Second).Should(Equal("40"))
		Expect(kubectl("get", "pvc", "wallet-operator-ledger", "-n", operatorNS, "-o", "jsonpath={.spec.volumeName}")).To(Equal(volume))
		applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: debit, namespace: %s}
spec: {walletRef: {name: main}, type: Debit, credits: "15", origin: api, endpoint: /v1/chat}
`, ns))
		Eventually(liveBalance).WithTimeout(60 * time.Second).Should(Equal("25"))
	})

	It("re-issues a deleted serving certificate and the APIService returns to Available with no restart by hand", func() {
		const secret = "wallet-operator-reports-serving-cert"
		caBundle := func() string {
			out, _ := kubectlErr("get", "apiservice", apiService, "-o", "jsonpath={.spec.caBundle}")
			return out
		}
		before := caBundle()
		Expect(before).NotTo(BeEmpty())
		kubectl("delete", "secret", secret, "-n", operatorNS)
		Eventually(func() error {
			_, err := kubectlErr("get", "secret", secret, "-n", operatorNS)
			return err
		}).WithTimeout(3*time.Minute).Should(Succeed(), "the operator re-creates its Secret")
		Eventually(caBundle).WithTimeout(3*time.Minute).ShouldNot(Equal(before), "the new CA is injected into the APIService")
		Eventually(func() string {
			out, _ := kubectlErr("get", "apiservice", apiService, "-o", `jsonpath={.status.conditions[?(@.type=="Available")].status}`)
			return out
		}).WithTimeout(5 * time.Minute).Should(Equal("True"))
		Eventually(liveBalance).WithTimeout(3 * time.Minute).Should(Equal("25"))
		restarts := kubectl("get", "pods", "-n", operatorNS, "-l", operatorLabels, "-o", "jsonpath={.items[*].status.containerStatuses[*].restartCount}")
		GinkgoWriter.Printf("operator container restarts after the Secret's deletion: %s\n", restarts)
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
	})
})

// The local control plane's process specs, as Pods: a second writer on the
// ledger's volume, and a graceful stop.
var _ = Describe("on a real cluster: operator processes", Ordered, func() {
	BeforeAll(deployedOnly)

	It("refuses a second writer on the SQLite volume, naming the lock and its holder", func() {
		image := kubectl("get", "deploy", "-n", operatorNS, "wallet-operator-controller-manager", "-o",
			"jsonpath={.spec.template.spec.containers[0].image}")
		applyYAML(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: e2e-second-writer, namespace: %s}
spec:
  restartPolicy: Never
  serviceAccountName: wallet-operator-controller-manager
  securityContext: {runAsNonRoot: true, fsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: manager
    image: %s
    args: [--ledger=sqlite:///var/lib/wallet-operator/ledger.db, --ledger-lock-wait=1s, --health-probe-bind-address=0,
      --metrics-bind-address=0, --reports-server=false]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
    volumeMounts: [{name: ledger, mountPath: /var/lib/wallet-operator}]
  volumes: [{name: ledger, persistentVolumeClaim: {claimName: wallet-operator-ledger}}]
`, operatorNS, image))
		DeferCleanup(func() { _, _ = kubectlErr("delete", "pod", "-n", operatorNS, "e2e-second-writer", "--wait=false") })
		Eventually(func() string {
			out, _ := kubectlErr("get", "pod", "-n", operatorNS, "e2e-second-writer", "-o", "jsonpath={.status.phase}")
			return out
		}).WithTimeout(2*time.Minute).Should(Equal("Failed"), "a second operator started on the ledger the Deployment writes")
		logs := kubectl("logs", "-n", operatorNS, "e2e-second-writer")
		Expect(logs).To(ContainSubstring("the ledger is locked by another process"))
		Expect(logs).To(ContainSubstring("ledger.db.lock is held by pid"))
		Expect(logs).To(ContainSubstring("strategy Recreate"))
		// the Deployment's Pod writes on, unharmed
		Expect(operatorPods()).To(HaveLen(1))
		waitOperatorReady()
	})

	It("stops on SIGTERM without logging an error, releasing its lease", func() {
		waitOperatorReady()
		pod := operatorPods()[0]
		var out testenv.SyncBuffer
		// what the stop logs, from now on: a transient error while the Pod
		// ran (a conflict on the APIService, retried) is not the stop's
		follow := exec.Command("kubectl", "logs", "-f", "-n", operatorNS, pod, "--since-time="+time.Now().UTC().Format(time.RFC3339))
		follow.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		follow.Stdout, follow.Stderr = &out, GinkgoWriter
		Expect(follow.Start()).To(Succeed())
		kubectl("delete", "pod", "-n", operatorNS, pod, "--wait=true")
		Expect(follow.Wait()).To(Succeed())
		Expect(out.String()).To(ContainSubstring("Stopping and waiting"), "the stop's own log lines")
		// the Pod is gone well inside the lease's 15 s: had it not released
		// the Lease, it would still name the old Pod
		Expect(leaseHolder(operatorNS)).NotTo(Equal(pod), "the Lease is released on a graceful stop")
		for _, line := range strings.Split(out.String(), "\n") {
			Expect(line).NotTo(ContainSubstring(`"level":"error"`), "an error logged by a graceful stop")
		}
		waitOperatorReady()
	})
})
