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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of the reports API.
const GroupName = "reports.walletop.io"

// SchemeGroupVersion is the group and version served.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// Resource qualifies a resource name with the group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// AddToScheme registers the types under v1alpha1 and, as the same Go
// types, under the internal version the generic API server decodes into.
func AddToScheme(s *runtime.Scheme) error {
	for _, gv := range []schema.GroupVersion{SchemeGroupVersion, {Group: GroupName, Version: runtime.APIVersionInternal}} {
		s.AddKnownTypes(gv,
			&Balance{}, &BalanceList{}, &BalanceOptions{},
			&ConsumptionReport{}, &ConsumptionReportOptions{},
			&Transaction{}, &TransactionList{},
			&Payment{}, &PaymentList{},
			&Usage{}, &UsageBatch{},
			&Preview{},
			&Forecast{}, &ForecastOptions{},
		)
	}
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
