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
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
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
	// Plans reads the Wallet objects' auto top-up rules and last forecast
	// (nil: forecasts play no rules, RUNS OUT reads unknown).
	Plans Plans
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
