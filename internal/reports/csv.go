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
	"strings"

	"k8s.io/apiserver/pkg/endpoints/responsewriter"
)

// csvAttachment marks a CSV answer as a download named after the report:
// <namespace>-<wallet>-consumption.csv or <namespace>-<wallet>-forecast.csv.
func csvAttachment(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		// apis/reports.walletop.io/v1alpha1/namespaces/<ns>/consumptionreports/<wallet>
		kind := map[string]string{"consumptionreports": "consumption", "forecasts": "forecast"}
		if r.Method != http.MethodGet || len(parts) != 7 || kind[parts[5]] == "" {
			next.ServeHTTP(w, r)
			return
		}
		d := &attachmentWriter{ResponseWriter: w, filename: parts[4] + "-" + parts[6] + "-" + kind[parts[5]] + ".csv"}
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
