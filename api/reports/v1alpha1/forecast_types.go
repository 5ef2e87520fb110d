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
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Forecast is a wallet's balance projected day by day at its recent usage
// rate, with its scheduled expiries and auto top-up rules: its runway.
// Nothing is written to compute it.
type Forecast struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Currency          string `json:"currency"`
	// At is when the projection starts (now).
	At metav1.Time `json:"at"`
	// Window is the trailing window the rate is read from (e.g. 168h),
	// ending at the current hour.
	Window string `json:"window"`
	// RatePerDay is the usage per day, all origins and endpoints.
	RatePerDay string `json:"ratePerDay"`
	// Rates breaks the rate out by origin and endpoint.
	// +optional
	// +listType=atomic
	Rates []ForecastRate `json:"rates,omitempty"`
	// Available and Debt are the wallet's now; Floor is the lowest
	// available balance its overdraft limit allows.
	Available string `json:"available"`
	Debt      string `json:"debt"`
	Floor     string `json:"floor"`
	// RunsOutAt is when usage is first refused; unset when not within the days.
	// +optional
	RunsOutAt *metav1.Time `json:"runsOutAt,omitempty"`
	// WalletEnds is true when the wallet ends (spec.expiresAt) within the
	// days, or has ended: the days stop there.
	// +optional
	WalletEnds bool `json:"walletEnds,omitempty"`
	// Days are the projected days, [start, end) each.
	// +optional
	// +listType=atomic
	Days []ForecastDay `json:"days,omitempty"`
}

// ForecastRate is the usage per day of one origin and endpoint.
type ForecastRate struct {
	Origin string `json:"origin"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	PerDay   string `json:"perDay"`
}

// ForecastDay is one projected day.
type ForecastDay struct {
	Start metav1.Time `json:"start"`
	End   metav1.Time `json:"end"`
	// Consumed is the usage drawn; Unserved the usage that would be refused.
	Consumed string `json:"consumed"`
	Unserved string `json:"unserved"`
	// ToppedUp is what auto top-up rules add; Expired what expires.
	ToppedUp string `json:"toppedUp"`
	Expired  string `json:"expired"`
	// Available and Debt at the day's end.
	Available string `json:"available"`
	Debt      string `json:"debt"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ForecastOptions are the query parameters of a forecast.
type ForecastOptions struct {
	metav1.TypeMeta `json:",inline"`
	// Days to project, 1-90 (default 90).
	// +optional
	Days int32 `json:"days,omitempty"`
	// Window is the trailing window of usage the rate is read from, whole
	// hours from 1h to 2160h (default 168h: 7 days).
	// +optional
	Window string `json:"window,omitempty"`
	// Format is json (default) or csv: a text/csv attachment, one row per day.
	// +optional
	Format string `json:"format,omitempty"`
}
