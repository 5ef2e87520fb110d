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

import "sync"

// changeFeed fans the names of changed wallets out to subscribers without
// ever blocking a commit: each subscriber has a pending set that a
// goroutine drains into its channel.
type changeFeed struct {
	mu     sync.Mutex
	subs   []*subscriber
	closed bool
}

type subscriber struct {
	mu      sync.Mutex
	pending map[string]struct{}
	wake    chan struct{}
	out     chan []string
}

func (f *changeFeed) subscribe() <-chan []string {
	sub := &subscriber{pending: map[string]struct{}{}, wake: make(chan struct{}, 1), out: make(chan []string)}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		close(sub.out)
		return sub.out
	}
	f.subs = append(f.subs, sub)
	f.mu.Unlock()
	go func() {
		defer close(sub.out)
		for range sub.wake {
			sub.mu.Lock()
			names := make([]string, 0, len(sub.pending))
			for n := range sub.pending {
				names = append(names, n)
			}
			clear(sub.pending)
			sub.mu.Unlock()
			if len(names) > 0 {
				sub.out <- names
			}
		}
	}()
	return sub.out
}

func (f *changeFeed) publish(names []string) {
	if len(names) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	for _, sub := range f.subs {
		sub.mu.Lock()
		for _, n := range names {
			sub.pending[n] = struct{}{}
		}
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default: // already woken: the names ride along
		}
	}
}

// close ends every subscription: their channels close once drained.
func (f *changeFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for _, sub := range f.subs {
		close(sub.wake)
	}
}
