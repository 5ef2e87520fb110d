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

package ledger

func (s *SQLStore) uncache(wallet string) {
	if w, ok := s.cache[wallet]; ok {
		s.cachedGrants -= w.cachedGrants
		delete(s.cache, wallet)
	}
}

// maxCachedWallets and maxCachedGrants bound the wallet states kept
// between transactions, and the live grants they hold in all (each a few
// hundred bytes): without the second, memory grew with every live grant of
// every cached wallet (a wallet topped up 10,000 times held 10,000). A state
// that is not cached is read from the database on its next write.
const (
	maxCachedWallets = 20000
	maxCachedGrants  = 4096
)

// committed readies a state for the next transaction: it keeps the wallet
// and its live grants, and forgets what this transaction wrote or looked up.
func (w *walletState) committed() {
	live := w.grants[:0]
	for _, g := range w.grants {
		if g.live() {
			// The creating entry is only needed to insert the grant; kept,
			// it would hold every live grant's entry row in memory.
			g.isNew, g.dirty, g.entry = false, false, nil
			live = append(live, g)
		}
	}
	clear(w.grants[len(live):])
	w.grants = live
	w.entries = map[string]*entryRow{}
	w.newEntries = nil
	w.rollups = nil
	w.dirty = false
}
