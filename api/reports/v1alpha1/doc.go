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

// Package v1alpha1 holds the types of the reports.walletop.io/v1alpha1 API,
// served by the operator's aggregated API server: read-only views of the
// ledger (balances, consumption reports, transactions, payments) and usage
// ingestion. Nothing here is stored in etcd.
//
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.walletop.reports.v1alpha1
// +kubebuilder:object:generate=true
// +groupName=reports.walletop.io
package v1alpha1
