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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// scheduleRules builds the schedule's three CEL rules from the Go grammar
// (SchedulePattern, the names and the days of each month). The CRD must
// carry exactly these: the marker on AutoTopUpRule.Schedule is their text
// (print it with WALLET_PRINT_MARKERS=1 go test ./api/v1alpha1 -run TestScheduleRules).
func scheduleRules() (syntax, rng, never string) {
	re := strings.ReplaceAll(SchedulePattern, `\`, `\\`)
	syntax = "self.matches('" + re + "')"
	names := "{'jan':1,'feb':2,'mar':3,'apr':4,'may':5,'jun':6,'jul':7,'aug':8,'sep':9,'oct':10,'nov':11,'dec':12,'sun':0,'mon':1,'tue':2,'wed':3,'thu':4,'fri':5,'sat':6}"
	val := func(x string) string {
		return "(" + x + ".matches('^[0-9]{1,2}$') ? int(" + x + ") : (" + x + ".lowerAscii() in n ? n[" + x + ".lowerAscii()] : -1))"
	}
	rng = "[" + names + "].all(n, self.findAll('[0-9A-Za-z]+-[0-9A-Za-z]+').all(r, [" + val("r.split('-')[0]") + "].all(a, [" + val("r.split('-')[1]") + "].all(b, a < 0 || b < 0 || a <= b))))"
	// months an item covers: lo, lo+st, ... up to hi; sub says they all lie in set
	// the months an item covers are lo, lo+st, ... up to hi; sub says they all
	// lie in set. Strings are split inline: a comprehension variable bound to
	// a list loses its size bound, and the rule's estimated cost explodes.
	p0 := "i.split('/')[0]"
	sub := func(set string) string {
		return "[i.split('/').size() > 1 && i.split('/')[1].matches('^[0-9]{1,2}$') ? int(i.split('/')[1]) : 1].all(st, [" + p0 + ".matches('^[*?]$') ? 1 : " + val(p0+".split('-')[0]") + "].all(lo, [" + p0 + ".matches('^[*?]$') ? 12 : (" + p0 + ".contains('-') ? " + val(p0+".split('-')[1]") + " : (i.contains('/') ? 12 : lo))].all(hi, lo >= 1 && st >= 1 && [0,1,2,3,4,5,6,7,8,9,10,11].all(k, lo + k * st > hi || (lo + k * st) in " + set + "))))"
	}
	f := func(k int) string { return fmt.Sprintf("self.split(' ')[%d]", k) }
	dom31 := f(2) + ".matches('^31(-31)?(/[0-9]{1,2})?(,31(-31)?(/[0-9]{1,2})?)*$')"
	dom30 := f(2) + ".matches('^3[01](-3[01])?(/[0-9]{1,2})?(,3[01](-3[01])?(/[0-9]{1,2})?)*$')"
	never = "[" + names + "].all(n, self.split(' ').size() != 5 || !(" + f(4) + ".split(',').exists(i, i.matches('^[*?](/1)?$')) && " + dom30 + " && [" + dom31 + "].all(d31, " + f(3) + ".split(',').all(i, " + sub("(d31 ? [2,4,6,9,11] : [2])") + "))))"
	return
}

func crdRules(t *testing.T, file string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	var walk func(p apiextv1.JSONSchemaProps)
	walk = func(p apiextv1.JSONSchemaProps) {
		for _, r := range p.XValidations {
			rules[r.Rule] = true
		}
		for _, c := range p.Properties {
			walk(c)
		}
		if p.Items != nil && p.Items.Schema != nil {
			walk(*p.Items.Schema)
		}
		if p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil {
			walk(*p.AdditionalProperties.Schema)
		}
	}
	walk(*crd.Spec.Versions[0].Schema.OpenAPIV3Schema)
	return rules
}

// TestRulesMatchTheGoGrammar: the CRDs state the grammar the operator
// parses with, so that what admission accepts the operator accepts.
func TestRulesMatchTheGoGrammar(t *testing.T) {
	syntax, rng, never := scheduleRules()
	if os.Getenv("WALLET_PRINT_MARKERS") != "" {
		q := func(x string) string { return strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), `"`, `\"`) }
		for _, r := range [][2]string{{syntax, ScheduleSyntaxRule}, {rng, ScheduleRangeRule}, {never, ScheduleNeverRule}} {
			fmt.Printf("\t// +kubebuilder:validation:XValidation:rule=\"%s\",message=\"%s\"\n", q(r[0]), q(r[1]))
		}
	}
	wallets := crdRules(t, "billing.walletop.io_wallets.yaml")
	wtx := crdRules(t, "billing.walletop.io_wallettransactions.yaml")
	durationRule := "self.size() > 0 && self.matches('" + DurationPattern + "') && duration(self) > duration('0s')"
	for name, rule := range map[string]string{"schedule syntax": syntax, "schedule ranges": rng, "schedule never fires": never,
		"grantExpiresAfter": durationRule} {
		if !wallets[rule] {
			t.Errorf("the Wallet CRD lacks the %s rule built from the Go grammar: %s", name, rule)
		}
	}
	if !wtx[durationRule] {
		t.Errorf("the WalletTransaction CRD lacks the expiresAfter rule: %s", durationRule)
	}
	if !wtx["!self.matches('"+ReservedKeyPattern+"')"] {
		t.Errorf("the WalletTransaction CRD lacks the reserved key prefix rule")
	}
	if !strings.HasPrefix(UsageKeyPrefix, "usage:") || !ReservedKey(UsageKeyPrefix+"x") {
		t.Errorf("the usage key prefix is not reserved")
	}
	b, _ := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "billing.walletop.io_wallettransactions.yaml"))
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties
	for f, want := range map[string]int64{"origin": MaxOriginLength, "endpoint": MaxEndpointLength,
		"description": MaxDescriptionLength, "idempotencyKey": MaxKeyLength} {
		if got := spec[f].MaxLength; got == nil || *got != want {
			t.Errorf("spec.%s: the CRD's maxLength is %v, the Go bound %d", f, got, want)
		}
	}
	var zones []string
	for z := range timeZoneNames {
		zones = append(zones, z)
	}
	found := false
	for r := range wallets {
		if strings.HasPrefix(r, "self in ['") {
			found = true
			for _, z := range zones {
				if !strings.Contains(r, "'"+z+"'") {
					t.Errorf("timeZone rule lacks %s", z)
				}
			}
		}
	}
	if !found {
		t.Error("the Wallet CRD has no timeZone rule")
	}
}

// Every name admission accepts loads, from the tz database embedded in the
// binary when the machine has none.
func TestTimeZoneNamesLoad(t *testing.T) {
	for z := range timeZoneNames {
		if _, err := TimeZone(z).Location(); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "UTC+5", "Local", "", "europe/paris"} {
		if _, err := TimeZone(bad).Location(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
