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
	"strings"
	"time"

	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/component-base/compatibility"

	"github.com/walletop/wallet-operator/api/reports/openapi"
	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

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

// Ledger is what the reports server uses of the ledger: it reads it and
// records usage, nothing else.
type Ledger interface {
	ledger.Reader
	ledger.UsageRecorder
}

// New builds the server over a ledger.
func New(o *Options, store Ledger) (*Server, error) {
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
		return timeRequests(csvAttachment(genericapiserver.DefaultBuildHandlerChain(h, c)))
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
		"balances":           newBalanceREST(store, o.Plans, now),
		"forecasts":          newForecastREST(store, o.Plans, now),
		"consumptionreports": newConsumptionREST(store, now),
		"transactions":       newTransactionREST(store),
		"payments":           newPaymentREST(store),
		"usages":             &usageREST{store: store},
		"usagebatches":       &usageBatchREST{store: store},
		"previews":           &previewREST{store: store},
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

// Start serves until ctx ends (a controller-runtime Runnable).
func (s *Server) Start(ctx context.Context) error {
	return s.generic.PrepareRun().RunWithContext(ctx)
}

// NeedLeaderElection is false: every replica serves reports.
func (s *Server) NeedLeaderElection() bool { return false }
