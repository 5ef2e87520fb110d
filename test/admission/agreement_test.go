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

package admission

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/testenv"
)

// The property: whatever the API server admits, the operator decodes
// without error and its own checks accept. An object admission refuses is
// never stored, so the operator never sees it.

// seeds are valid specs; the mutations start from them.
var seeds = []struct {
	kind string
	spec string
}{
	{"Wallet", `{"currency":"USD","rate":"0.01","overdraftLimit":"50","lowBalanceThreshold":"1000","appliesTo":{"origins":["api"],"endpoints":["/v1/chat"]},
	  "autoTopUp":[{"name":"keep","trigger":"Threshold","thresholdCredits":500,"method":"Target","targetBalance":"5000","targetCategory":"Granted","priority":10,"grantExpiresAfter":"720h"},
	  {"name":"monthly","trigger":"Schedule","schedule":"0 6 1 * *","timeZone":"Europe/Paris","method":"Fixed","paidCredits":"100","grantedCredits":5}]}`},
	{"Wallet", `{"currency":"EUR","expiresAt":"2030-01-01T00:00:00Z","terminated":false}`},
	{"WalletTransaction", `{"walletRef":{"name":"main"},"type":"TopUp","paidCredits":"10000","grantedCredits":"0.5","priority":20,"effectiveAt":"2026-01-01T00:00:00Z","expiresAfter":"1h30m",
	  "appliesTo":{"origins":["api"]},"source":"Purchase","payment":{"reference":"ch_1","amount":"100.00","method":"Card","status":"Paid"},"idempotencyKey":"order-1","description":"x","attributes":{"a":"b"}}`},
	{"WalletTransaction", `{"walletRef":{"name":"main"},"type":"Debit","credits":"42.5","origin":"api","endpoint":"/v1/chat"}`},
	{"WalletTransaction", `{"walletRef":{"name":"main"},"type":"Void","credits":"1","grantRef":{"name":"buy"}}`},
	{"WalletTransaction", `{"walletRef":{"name":"main"},"type":"Refund","credits":"1","grantRef":{"name":"buy"},"payment":{"status":"Pending"}}`},
	{"WalletTransaction", `{"walletRef":{"name":"main"},"type":"Adjustment","credits":"-3","reason":"fix"}`},
	{"WalletTransaction", `{"walletRef":{"name":"main"},"type":"TopUp","grantedCredits":7,"expiresAt":"2030-01-01T00:00:00Z"}`},
}

// pool holds the values a mutation puts in: of every JSON type, valid and
// hostile.
var pool = []any{
	"", "abc", "30d", "-720h", "720h", "1.5h", "0h", "999999h", "9999999h", "0 0 31 2 *", "61 * * * *", "@daily", "@every 1h", "Mars/Olympus", "UTC",
	"usage:x", "expire:1", "1e3", "12.5", "-0", "0", "999999999999.999999", "1000000000000", "0.0000001", "NaN", "2026-13-01T00:00:00Z",
	"2026-11-01T00:00:00+0100", "2026-11-01T00:00:00.123456789Z", "2026-11-01", "TopUp", "Debit", "Threshold", "Schedule", "Fixed", "Target", "Paid",
	float64(0), float64(-1), float64(100), float64(101), float64(1e10), 1.5, 999999999999.0, 1e20, true, false, nil,
	map[string]any{}, map[string]any{"name": "x"}, []any{}, []any{"a"}, []any{map[string]any{"name": "r", "trigger": "Threshold", "thresholdCredits": "1", "method": "Fixed", "grantedCredits": "1"}},
}

// mutate changes one value somewhere in v (a decoded JSON document).
func mutate(r *rand.Rand, v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		switch {
		case len(keys) > 0 && r.IntN(5) == 0:
			delete(x, keys[r.IntN(len(keys))])
		case len(keys) > 0 && r.IntN(3) != 0:
			k := keys[r.IntN(len(keys))]
			x[k] = mutate(r, x[k])
		default:
			names := []string{"schedule", "timeZone", "expiresAfter", "grantExpiresAfter", "priority", "idempotencyKey", "credits", "thresholdCredits",
				"targetBalance", "rate", "effectiveAt", "expiresAt", "origin", "grantRef", "payment", "bogus"}
			x[names[r.IntN(len(names))]] = pool[r.IntN(len(pool))]
		}
		return x
	case []any:
		if len(x) > 0 && r.IntN(2) == 0 {
			i := r.IntN(len(x))
			x[i] = mutate(r, x[i])
			return x
		}
		return append(x, pool[r.IntN(len(pool))])
	}
	return pool[r.IntN(len(pool))]
}

// operatorDisagrees returns why the operator would not handle obj, which
// the API server admitted (obj is what it would store), or "".
func operatorDisagrees(obj *unstructured.Unstructured) string {
	b, err := json.Marshal(obj.Object)
	if err != nil {
		return err.Error()
	}
	switch obj.GetKind() {
	case "Wallet":
		var w billingv1alpha1.Wallet
		if err := json.Unmarshal(b, &w); err != nil {
			return "decoding: " + err.Error()
		}
		if w.DecodeError != "" {
			return w.DecodeError
		}
		if errs := w.Validate(time.Now()); len(errs) > 0 {
			return errs.ToAggregate().Error()
		}
	default:
		var t billingv1alpha1.WalletTransaction
		if err := json.Unmarshal(b, &t); err != nil {
			return "decoding: " + err.Error()
		}
		if t.DecodeError != "" {
			return t.DecodeError
		}
		if errs := t.Validate(); len(errs) > 0 {
			return errs.ToAggregate().Error()
		}
	}
	return ""
}

// admit asks the API server to store kind/spec (a server dry run) and
// returns what it would store, or nil if it refuses.
func admit(c client.Client, kind string, spec any, n int) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "billing.walletop.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": fmt.Sprintf("m-%d", n), "namespace": ns}, "spec": spec}}
	if err := c.Create(ctx, obj, client.DryRunAll); err != nil {
		return nil
	}
	return obj
}

var _ = Describe("admission and the operator", func() {
	BeforeEach(func() {
		err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	})

	It("never disagree on 1,500 mutations of valid Wallets and WalletTransactions", func() {
		r := rand.New(rand.NewPCG(7, 11))
		admitted := 0
		for i := range 1500 {
			s := seeds[i%len(seeds)]
			var spec any
			Expect(json.Unmarshal([]byte(s.spec), &spec)).To(Succeed())
			for range 1 + r.IntN(3) {
				spec = mutate(r, spec)
			}
			obj := admit(k8sClient, s.kind, spec, i)
			if obj == nil {
				continue
			}
			admitted++
			b, _ := json.Marshal(spec)
			Expect(operatorDisagrees(obj)).To(BeEmpty(), "%s admitted with spec %s", s.kind, b)
		}
		GinkgoWriter.Printf("1,500 mutations: %d admitted, each handled by the operator\n", admitted)
		Expect(admitted).To(BeNumerically(">", 200))
	})
})

// FuzzAdmission mutates valid specs as the fuzzer likes; `go test` runs the
// seeds, `go test -fuzz FuzzAdmission ./test/admission` searches on.
func FuzzAdmission(f *testing.F) {
	for i, s := range seeds {
		f.Add(i, []byte(s.spec))
	}
	c := startAPIServer(f)
	var mu sync.Mutex
	n := 0
	f.Fuzz(func(t *testing.T, seed int, spec []byte) {
		var v any
		if json.Unmarshal(spec, &v) != nil {
			return
		}
		kind := "WalletTransaction"
		if seed%2 == 0 && seed >= 0 && seed < len(seeds) {
			kind = seeds[seed].kind
		} else if seed%3 == 0 {
			kind = "Wallet"
		}
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		obj := admit(c, kind, v, i)
		if obj == nil {
			return
		}
		if why := operatorDisagrees(obj); why != "" {
			t.Errorf("%s admitted with spec %s, but the operator says: %s", kind, spec, why)
		}
	})
}

// fuzzKubeconfig names the kubeconfig of the control plane the fuzzing
// process started, for its workers (processes of their own).
const fuzzKubeconfig = "WALLET_FUZZ_KUBECONFIG"

// startAPIServer starts a control plane with the CRDs for a fuzz run, once:
// fuzz workers connect to the one their parent started.
func startAPIServer(f *testing.F) client.Client {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	if kc := os.Getenv(fuzzKubeconfig); kc != "" {
		b, err := os.ReadFile(kc)
		if err != nil {
			f.Fatal(err)
		}
		cfg, err := clientcmd.RESTConfigFromKubeConfig(b)
		if err != nil {
			f.Fatal(err)
		}
		cfg.QPS, cfg.Burst = 500, 1000
		c, err := client.New(cfg, client.Options{Scheme: s})
		if err != nil {
			f.Fatal(err)
		}
		return c
	}
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		testenv.Missing(err, func(m string) { f.Skip(m) }, func(m string) { f.Fatal(m) })
		return nil
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		f.Fatal(err)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	logf.SetLogger(logr.Discard())
	cfg, err := env.Start()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = env.Stop() })
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "fuzz", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		f.Fatal(err)
	}
	f.Setenv(fuzzKubeconfig, path)
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		f.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		f.Fatal(err)
	}
	return c
}
