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

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// tabler converts objects and lists of one kind into the Table that kubectl
// get prints.
type tabler struct {
	columns []metav1.TableColumnDefinition
	cells   func(obj runtime.Object) []any
}

func columns(names ...string) []metav1.TableColumnDefinition {
	defs := make([]metav1.TableColumnDefinition, len(names))
	for i, n := range names {
		defs[i] = metav1.TableColumnDefinition{Name: n, Type: "string"}
		if i == 0 {
			defs[i].Format = "name"
		}
	}
	return defs
}

// wide marks the columns from index from on as -o wide only.
func wide(defs []metav1.TableColumnDefinition, from int) []metav1.TableColumnDefinition {
	for i := from; i < len(defs); i++ {
		defs[i].Priority = 1
	}
	return defs
}

// ConvertToTable implements rest.TableConvertor.
func (t tabler) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: t.columns}
	if l, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion, table.Continue = l.GetResourceVersion(), l.GetContinue()
	}
	add := func(o runtime.Object) {
		table.Rows = append(table.Rows, metav1.TableRow{Cells: t.cells(o), Object: runtime.RawExtension{Object: o}})
	}
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			add(o)
		}
	} else {
		add(obj)
	}
	return table, nil
}

func timeCell(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
