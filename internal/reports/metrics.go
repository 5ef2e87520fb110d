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
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apiserver/pkg/endpoints/responsewriter"
)

// requestSeconds times every request the reports server answers, by
// resource, verb and status code: the kube-apiserver's own metrics see only
// the proxying.
var requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "wallet_operator_reports_request_seconds",
	Help:    "Latency of the reports API's requests, by resource, HTTP method and status code.",
	Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
}, []string{"resource", "verb", "code"})

// Collectors are the reports server's metrics, for the operator to register
// with its own.
func Collectors() []prometheus.Collector { return []prometheus.Collector{requestSeconds} }

// resources are the resource label's values; any other path counts as
// "other", so that a client cannot add series.
var resources = map[string]bool{"balances": true, "consumptionreports": true, "transactions": true,
	"payments": true, "usages": true, "usagebatches": true, "previews": true}

func timeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(responsewriter.WrapForHTTP1Or2(sw), r)
		requestSeconds.WithLabelValues(resourceOf(r.URL.Path), r.Method, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

// resourceOf reads /apis/reports.walletop.io/v1alpha1/namespaces/<ns>/<resource>[/...].
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 6 && parts[0] == "apis" && parts[3] == "namespaces" && resources[parts[5]] {
		return parts[5]
	}
	if len(parts) >= 4 && parts[0] == "apis" && resources[parts[3]] { // across namespaces
		return parts[3]
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
