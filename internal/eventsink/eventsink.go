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

// Package eventsink records events.k8s.io/v1 Events in memory bounded by
// the size of its queue and of its table of recent series.
//
// It implements client-go's events.EventRecorder, the interface the
// controllers take, in place of the recorder that manager.GetEventRecorder
// returns: client-go's events broadcaster keeps a copy of every Event it
// sent, keyed by its object, for six to twelve minutes so that a repeat can
// join the Event's series, with no bound and no option to change that; the
// operator records an Event per WalletTransaction, so a burst would hold
// them all. Here a repeat joins its series through a table of the most recent
// series (a few hundred bytes each, a fixed number of them), and what waits
// to be written is a bounded queue; an Event that does not fit is dropped
// and counted, as Events are best effort.
package eventsink

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	typedeventsv1 "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/tools/record/util"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

const (
	// seriesWindow is how long after its last occurrence a repeat still
	// joins an Event's series (client-go's recorder uses the same).
	seriesWindow = 6 * time.Minute
	// noteLimit is the events.k8s.io/v1 API's limit on a note, in bytes.
	noteLimit = 1024
	// attempts is how often a write is tried when the kube-apiserver cannot
	// be reached or asks to retry.
	attempts = 3
)

var dropped = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "wallet_operator_events_dropped_total",
	Help: "Events not written: the queue was full, or the kube-apiserver refused or could not take them.",
})

func init() {
	metrics.Registry.MustRegister(dropped)
}

// Options bound the recorder's memory.
type Options struct {
	// Queue is how many writes may wait; more are dropped (default 1000,
	// as client-go's broadcaster).
	Queue int
	// Series is how many recent series are remembered for repeats to join
	// (default 1024).
	Series int
	// Workers is how many writes run at once (default 4).
	Workers int
	// Clock stamps the Events (default: the real clock).
	Clock clock.PassiveClock
	// Retry is the pause before a write is tried again (default 1s, with
	// up to 50 % jitter).
	Retry time.Duration
}

// Recorder writes Events. Add it to the manager (it is a Runnable that runs
// on every replica, leader or not); Eventf never blocks.
type Recorder struct {
	client     typedeventsv1.EventsV1Interface
	scheme     *runtime.Scheme
	controller string
	instance   string
	opts       Options
	log        logr.Logger
	queue      chan write

	mu     sync.Mutex // guards the series' fields
	series *lru.Cache // seriesKey -> *series
}

// seriesKey says which Events are repeats of each other: the same kind of
// Event about the same object with the same note. Unlike client-go it
// leaves the object's resourceVersion out (a repeat about an object that
// changed in between is still a repeat) and keeps the note in (a different
// message is a different Event).
type seriesKey struct {
	eventType, reason, action, note string
	regarding                       types.UID
	kind, namespace, name           string
	related                         types.UID
}

type series struct {
	namespace, name string    // the Event's
	count           int32     // occurrences so far
	last            time.Time // the latest occurrence
	created         bool      // the Event exists in the API
	failed          bool      // it could not be created: a repeat starts anew
	patching        bool      // a write of the count is queued or running
}

// write is a queued API call: an Event to create, or (event nil) the
// series' latest count to patch in.
type write struct {
	event *eventsv1.Event
	s     *series
}

// New returns a recorder that writes through client as reporting
// controller name, from instance name-<hostname> (as client-go names it).
func New(client typedeventsv1.EventsV1Interface, scheme *runtime.Scheme, name string, opts Options, log logr.Logger) *Recorder {
	if opts.Queue <= 0 {
		opts.Queue = 1000
	}
	if opts.Series <= 0 {
		opts.Series = 1024
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	hostname, _ := os.Hostname()
	return &Recorder{
		client: client, scheme: scheme, controller: name, instance: name + "-" + hostname,
		opts: opts, log: log, queue: make(chan write, opts.Queue), series: lru.New(opts.Series),
	}
}

// NeedLeaderElection says the recorder runs on every replica.
func (r *Recorder) NeedLeaderElection() bool { return false }

// Start writes queued Events until ctx ends; what is still queued then is
// not written.
func (r *Recorder) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case w := <-r.queue:
					r.write(ctx, w)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// Eventf records an Event about regarding (and related, if not nil), as
// client-go's events.EventRecorder does.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		r.log.Error(err, "cannot refer to the object of an Event", "reason", reason)
		return
	}
	var rel *corev1.ObjectReference
	if related != nil {
		if rel, err = reference.GetReference(r.scheme, related); err != nil {
			r.log.Error(err, "cannot refer to the related object of an Event", "reason", reason)
		}
	}
	if len(args) > 0 {
		note = fmt.Sprintf(note, args...)
	}
	if len(note) > noteLimit {
		note = note[:noteLimit-3] + "..."
	}
	namespace := ref.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	now := r.opts.Clock.Now()
	key := seriesKey{eventType: eventtype, reason: reason, action: action, note: note,
		regarding: ref.UID, kind: ref.Kind, namespace: ref.Namespace, name: ref.Name}
	if rel != nil {
		key.related = rel.UID
	}
	r.log.V(1).Info("event", "object", ref.Namespace+"/"+ref.Name, "kind", ref.Kind, "type", eventtype, "reason", reason, "note", note)

	r.mu.Lock()
	if v, ok := r.series.Get(key); ok {
		s := v.(*series)
		if now.Sub(s.last) < seriesWindow && !s.failed {
			s.count++
			s.last = now
			queue := s.created && !s.patching
			if queue {
				s.patching = true
			}
			r.mu.Unlock()
			if queue && !r.enqueue(write{s: s}) {
				r.mu.Lock()
				s.patching = false
				r.mu.Unlock()
			}
			return
		}
	}
	s := &series{namespace: namespace, name: util.GenerateEventName(ref.Name, now.UnixNano()), count: 1, last: now}
	r.series.Add(key, s)
	r.mu.Unlock()

	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: s.name, Namespace: namespace},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.controller,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Related:             rel,
		Note:                note,
		Type:                eventtype,
	}
	if !r.enqueue(write{event: ev, s: s}) {
		// No Event exists to count repeats in: the next one starts anew.
		r.series.Remove(key)
	}
}

func (r *Recorder) enqueue(w write) bool {
	select {
	case r.queue <- w:
		return true
	default:
		dropped.Inc()
		r.log.V(1).Info("event dropped: the queue is full", "event", w.s.namespace+"/"+w.s.name)
		return false
	}
}

// write makes one queued API call; a created Event whose series grew
// meanwhile, or a series that grew during its patch, is patched next.
func (r *Recorder) write(ctx context.Context, w write) {
	if w.event != nil {
		err := r.try(ctx, func() error {
			_, err := r.client.Events(w.event.Namespace).Create(ctx, w.event, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		})
		r.mu.Lock()
		w.s.created, w.s.failed = err == nil, err != nil
		more := err == nil && w.s.count > 1 && !w.s.patching
		if more {
			w.s.patching = true
		}
		r.mu.Unlock()
		if err != nil {
			r.failed(ctx, err, w.s)
			return
		}
		if !more {
			return
		}
	}
	for {
		r.mu.Lock()
		count, last := w.s.count, w.s.last
		r.mu.Unlock()
		patch, err := json.Marshal(map[string]any{"series": eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NewMicroTime(last)}})
		if err == nil {
			err = r.try(ctx, func() error {
				_, err := r.client.Events(w.s.namespace).Patch(ctx, w.s.name, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		}
		r.mu.Lock()
		again := err == nil && w.s.count != count
		w.s.patching = again
		r.mu.Unlock()
		if err != nil {
			r.failed(ctx, err, w.s)
		}
		if !again {
			return
		}
	}
}

// try calls fn until it succeeds, fails for good (the kube-apiserver
// refused the request) or has been tried attempts times.
func (r *Recorder) try(ctx context.Context, fn func() error) error {
	var err error
	for i := range attempts {
		if i > 0 {
			pause := r.opts.Retry + rand.N(r.opts.Retry/2+1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		if err = fn(); err == nil || !retriable(err) {
			return err
		}
	}
	return err
}

func retriable(err error) bool {
	if _, ok := err.(apierrors.APIStatus); !ok {
		return true // the request did not get an answer
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

func (r *Recorder) failed(ctx context.Context, err error, s *series) {
	dropped.Inc()
	if ctx.Err() == nil { // not the manager stopping
		r.log.Error(err, "event not written", "event", s.namespace+"/"+s.name)
	}
}

// ForManager returns a recorder for controller name that writes through
// the manager's connection and runs with the manager.
func ForManager(mgr manager.Manager, name string, opts Options) (*Recorder, error) {
	client, err := typedeventsv1.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, err
	}
	r := New(client, mgr.GetScheme(), name, opts, mgr.GetLogger().WithName("events"))
	if err := mgr.Add(r); err != nil {
		return nil, err
	}
	return r, nil
}
