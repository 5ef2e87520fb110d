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
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/endpoints/responsewriter"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/compatibility"

	"github.com/walletop/wallet-operator/api/reports/openapi"
	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// Options configure the reports server: secure serving and delegated
// authentication and authorization, as any aggregated API server.
type Options struct {
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
	// FlowControl turns API Priority and Fairness on in the reports server
	// (it reads FlowSchemas and PriorityLevelConfigurations from the cluster).
	FlowControl bool
	// Now is the clock (tests inject one); nil: time.Now.
	Now func() time.Time
}

// DefaultPort is where the reports server listens by default.
const DefaultPort = 9443

// NewOptions returns the defaults: port 9443, certificates from
// --tls-cert-file/--tls-private-key-file, else self-signed ones in
// --cert-dir (for development only: the APIService must then skip
// verification or carry the generated CA).
func NewOptions() *Options {
	o := &Options{
		SecureServing:  genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication: genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:  genericoptions.NewDelegatingAuthorizationOptions(),
		FlowControl:    true,
	}
	o.SecureServing.BindPort = DefaultPort
	o.SecureServing.HTTP2MaxStreamsPerConnection = 1000 // the kube-apiserver multiplexes every caller on few connections
	o.SecureServing.ServerCert.CertDirectory = filepath.Join(os.TempDir(), "wallet-operator-reports")
	o.SecureServing.ServerCert.PairName = "reports"
	return o
}

// AddFlags registers the options' flags, prefixed where they could clash
// with the manager's.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.SecureServing.AddFlags(fs)
	o.Authentication.AddFlags(fs)
	o.Authorization.AddFlags(fs)
	fs.BoolVar(&o.FlowControl, "enable-priority-and-fairness", o.FlowControl,
		"Apply API Priority and Fairness in the reports server too (FlowSchemas and PriorityLevelConfigurations of the cluster; needs config/apiservice's flow-control RBAC).")
}

// UseKubeconfig makes delegated authentication and authorization talk to
// the cluster of cfg when the operator runs outside a cluster and no
// --authentication-kubeconfig / --authorization-kubeconfig was given. The
// kubeconfig is written to dir.
func (o *Options) UseKubeconfig(cfg *restclient.Config, dir string) error {
	if o.Authentication.RemoteKubeConfigFile != "" && o.Authorization.RemoteKubeConfigFile != "" {
		return nil
	}
	if _, err := restclient.InClusterConfig(); err == nil {
		return nil
	}
	path := filepath.Join(dir, "reports-delegation.kubeconfig")
	if err := WriteKubeconfig(cfg, path); err != nil {
		return err
	}
	if o.Authentication.RemoteKubeConfigFile == "" {
		o.Authentication.RemoteKubeConfigFile = path
	}
	if o.Authorization.RemoteKubeConfigFile == "" {
		o.Authorization.RemoteKubeConfigFile = path
	}
	return nil
}

// WriteKubeconfig writes cfg (server, CA, client credentials and
// impersonation) as a kubeconfig file.
func WriteKubeconfig(cfg *restclient.Config, path string) error {
	if err := restclient.LoadTLSFiles(cfg); err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData, InsecureSkipTLSVerify: cfg.Insecure, TLSServerName: cfg.ServerName}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken, TokenFile: cfg.BearerTokenFile,
		Username: cfg.Username, Password: cfg.Password,
		Impersonate: cfg.Impersonate.UserName, ImpersonateUID: cfg.Impersonate.UID, ImpersonateGroups: cfg.Impersonate.Groups, ImpersonateUserExtra: cfg.Impersonate.Extra,
	}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*kc, path)
}

// Server is the reports API server, ready to run.
type Server struct {
	generic *genericapiserver.GenericAPIServer
	// the front proxy's CA, loaded from the cluster by a controller
	requestHeaderCA dynamiccertificates.CAContentProvider
}

// Ready says whether the server may take requests: it serves, its own
// readiness checks pass, and the front proxy's CA has been loaded (before
// that, the kube-apiserver's forwarded requests would be refused with
// "x509: certificate signed by unknown authority").
func (s *Server) Ready() error {
	if s.requestHeaderCA != nil && len(s.requestHeaderCA.CurrentCABundleContent()) == 0 {
		return errors.New("reports server: waiting for the request-header client CA (ConfigMap kube-system/extension-apiserver-authentication)")
	}
	rec := httptest.NewRecorder()
	s.generic.Handler.NonGoRestfulMux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("reports server not ready (%d): %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return nil
}

// New builds the server over a ledger.
func New(o *Options, store ledger.Store) (*Server, error) {
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("reports server: self-signed certificate: %w", err)
	}
	cfg := genericapiserver.NewRecommendedConfig(Codecs)
	cfg.EffectiveVersion = compatibility.NewEffectiveVersionFromString("1.37", "", "")
	namer := openapinamer.NewDefinitionNamer(Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = "wallet-operator reports", "v1alpha1"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = "wallet-operator reports", "v1alpha1"
	cfg.EnableProfiling = false
	cfg.EnableMetrics = true
	cfg.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return csvAttachment(genericapiserver.DefaultBuildHandlerChain(h, c))
	}
	if err := o.SecureServing.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		return nil, err
	}
	if err := o.Authentication.ApplyTo(&cfg.Authentication, cfg.SecureServing, cfg.OpenAPIConfig); err != nil {
		return nil, err
	}
	if err := o.Authorization.ApplyTo(&cfg.Authorization); err != nil {
		return nil, err
	}
	if o.FlowControl {
		if err := o.applyFlowControl(cfg); err != nil {
			return nil, fmt.Errorf("reports server: priority and fairness: %w", err)
		}
	}
	generic, err := cfg.Complete().New("wallet-operator-reports", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(reportsv1alpha1.GroupName, Scheme, ParameterCodec, Codecs)
	group.VersionedResourcesStorageMap[reportsv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"balances":           newBalanceREST(store, now),
		"consumptionreports": newConsumptionREST(store, now),
		"transactions":       newTransactionREST(store),
		"payments":           newPaymentREST(store),
		"usages":             &usageREST{store: store},
		"usagebatches":       &usageBatchREST{store: store},
	}
	if err := generic.InstallAPIGroup(&group); err != nil {
		return nil, err
	}
	srv := &Server{generic: generic}
	if rh := cfg.Authentication.RequestHeaderConfig; rh != nil {
		srv.requestHeaderCA = rh.CAContentProvider
	}
	return srv, nil
}

// applyFlowControl turns API Priority and Fairness on, as kube-apiserver
// and kueue's visibility server do: requests are classified by the
// cluster's FlowSchemas (config/apiservice ships one for this API) and
// queued per priority level. The informers use the delegation kubeconfig.
func (o *Options) applyFlowControl(cfg *genericapiserver.RecommendedConfig) error {
	var restCfg *restclient.Config
	var err error
	if path := o.Authorization.RemoteKubeConfigFile; path != "" {
		restCfg, err = clientcmd.BuildConfigFromFlags("", path)
	} else {
		restCfg, err = restclient.InClusterConfig()
	}
	if err != nil {
		return err
	}
	clientset, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	cfg.SharedInformerFactory = kubeinformers.NewSharedInformerFactory(clientset, 10*time.Minute)
	features := genericoptions.NewFeatureOptions()
	features.EnablePriorityAndFairness = true
	features.EnableProfiling = false
	return features.ApplyTo(&cfg.Config, clientset, cfg.SharedInformerFactory)
}

// Start serves until ctx ends (a controller-runtime Runnable).
func (s *Server) Start(ctx context.Context) error {
	return s.generic.PrepareRun().RunWithContext(ctx)
}

// NeedLeaderElection is false: every replica serves reports.
func (s *Server) NeedLeaderElection() bool { return false }

// csvAttachment marks a CSV answer as a download named after the report:
// <namespace>-<wallet>-consumption.csv.
func csvAttachment(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		// apis/reports.walletop.io/v1alpha1/namespaces/<ns>/consumptionreports/<wallet>
		if r.Method != http.MethodGet || len(parts) != 7 || parts[5] != "consumptionreports" {
			next.ServeHTTP(w, r)
			return
		}
		d := &attachmentWriter{ResponseWriter: w, filename: parts[4] + "-" + parts[6] + "-consumption.csv"}
		next.ServeHTTP(responsewriter.WrapForHTTP1Or2(d), r)
	})
}

type attachmentWriter struct {
	http.ResponseWriter
	filename    string
	wroteHeader bool
}

func (a *attachmentWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

func (a *attachmentWriter) WriteHeader(code int) {
	if !a.wroteHeader {
		a.wroteHeader = true
		if strings.HasPrefix(a.Header().Get("Content-Type"), "text/csv") {
			a.Header().Set("Content-Disposition", `attachment; filename="`+a.filename+`"`)
		}
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *attachmentWriter) Write(b []byte) (int, error) {
	if !a.wroteHeader {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(b)
}
