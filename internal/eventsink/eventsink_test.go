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

package eventsink

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/walletop/wallet-operator/internal/testenv"
)

func TestEventSink(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Event recorder suite")
}

var (
	env       *envtest.Environment
	clientset *kubernetes.Clientset
)

var _ = BeforeSuite(func() {
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		testenv.Missing(err, func(m string) { Skip(m) }, func(m string) { Fail(m) })
	}
	env = &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// subject makes a ConfigMap for Events to be about.
func subject() *corev1.ConfigMap {
	GinkgoHelper()
	cm, err := clientset.CoreV1().ConfigMaps("default").Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "subject-"}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return cm
}

// eventsAbout lists the Events about an object.
func eventsAbout(cm *corev1.ConfigMap) []eventsv1.Event {
	GinkgoHelper()
	list, err := clientset.EventsV1().Events("default").List(context.Background(),
		metav1.ListOptions{FieldSelector: "regarding.uid=" + string(cm.UID)})
	Expect(err).NotTo(HaveOccurred())
	return list.Items
}

// started returns a recorder that writes until the spec ends.
func started(opts Options) *Recorder {
	r := New(clientset.EventsV1(), clientgoscheme.Scheme, "wallet-operator", opts, zap.New(zap.WriteTo(GinkgoWriter)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Start(ctx)
	}()
	DeferCleanup(func() {
		cancel()
		<-done
	})
	return r
}

var _ = Describe("Recorder", func() {
	It("writes an events.k8s.io/v1 Event with what was recorded", func() {
		r := started(Options{})
		cm, related := subject(), subject()
		r.Eventf(cm, related, corev1.EventTypeWarning, "LowBalance", "Check", "available %s is at or below %s", "4.5", "10")
		Eventually(func() []eventsv1.Event { return eventsAbout(cm) }).Should(HaveLen(1))
		ev := eventsAbout(cm)[0]
		Expect(ev.Type).To(Equal("Warning"))
		Expect(ev.Reason).To(Equal("LowBalance"))
		Expect(ev.Action).To(Equal("Check"))
		Expect(ev.Note).To(Equal("available 4.5 is at or below 10"))
		Expect(ev.ReportingController).To(Equal("wallet-operator"))
		Expect(ev.ReportingInstance).To(HavePrefix("wallet-operator-"))
		Expect(ev.Regarding.Kind).To(Equal("ConfigMap"))
		Expect(ev.Regarding.Name).To(Equal(cm.Name))
		Expect(ev.Related).NotTo(BeNil())
		Expect(ev.Related.UID).To(Equal(related.UID))
		Expect(ev.Series).To(BeNil())
		Expect(ev.EventTime.IsZero()).To(BeFalse())
	})

	It("counts repeats in one Event's series, and a different note is another Event", func() {
		r := started(Options{})
		cm := subject()
		for range 5 {
			r.Eventf(cm, nil, corev1.EventTypeNormal, "Settled", "Apply", "Settled as wtx_1")
		}
		Eventually(func(g Gomega) {
			evs := eventsAbout(cm)
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Series).NotTo(BeNil())
			g.Expect(evs[0].Series.Count).To(BeEquivalentTo(5))
		}).Should(Succeed())
		r.Eventf(cm, nil, corev1.EventTypeNormal, "Settled", "Apply", "Settled as wtx_2")
		Eventually(func() []eventsv1.Event { return eventsAbout(cm) }).Should(HaveLen(2))
		Consistently(func() []eventsv1.Event { return eventsAbout(cm) }, "500ms").Should(HaveLen(2))
	})

	It("starts a new Event once a series has been quiet for six minutes", func() {
		clock := clocktesting.NewFakePassiveClock(time.Now())
		r := started(Options{Clock: clock})
		cm := subject()
		r.Eventf(cm, nil, corev1.EventTypeNormal, "Settled", "Apply", "Settled")
		Eventually(func() []eventsv1.Event { return eventsAbout(cm) }).Should(HaveLen(1))
		clock.SetTime(clock.Now().Add(seriesWindow))
		r.Eventf(cm, nil, corev1.EventTypeNormal, "Settled", "Apply", "Settled")
		Eventually(func() []eventsv1.Event { return eventsAbout(cm) }).Should(HaveLen(2))
		for _, ev := range eventsAbout(cm) {
			Expect(ev.Series).To(BeNil())
		}
	})

	It("cuts a note to the API's 1024 bytes", func() {
		r := started(Options{})
		cm := subject()
		r.Eventf(cm, nil, corev1.EventTypeWarning, "Failed", "Apply", strings.Repeat("x", 5000))
		Eventually(func() []eventsv1.Event { return eventsAbout(cm) }).Should(HaveLen(1))
		note := eventsAbout(cm)[0].Note
		Expect(note).To(HaveLen(noteLimit))
		Expect(note).To(HaveSuffix("..."))
	})

	It("drops and counts what does not fit in the queue, and never blocks the caller", func() {
		r := New(clientset.EventsV1(), clientgoscheme.Scheme, "wallet-operator", Options{Queue: 2}, zap.New(zap.WriteTo(GinkgoWriter)))
		before := testutil.ToFloat64(dropped)
		var cms []*corev1.ConfigMap
		for i := range 5 {
			cm := subject()
			cms = append(cms, cm)
			r.Eventf(cm, nil, corev1.EventTypeNormal, "Settled", "Apply", fmt.Sprintf("event %d", i))
		}
		Expect(testutil.ToFloat64(dropped) - before).To(BeEquivalentTo(3))

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = r.Start(ctx) }()
		Eventually(func() []eventsv1.Event { return eventsAbout(cms[1]) }).Should(HaveLen(1))
		Expect(eventsAbout(cms[0])).To(HaveLen(1))
		Consistently(func() []eventsv1.Event { return eventsAbout(cms[4]) }, "500ms").Should(BeEmpty())

		By("a dropped Event's repeat is written as a new Event")
		r.Eventf(cms[4], nil, corev1.EventTypeNormal, "Settled", "Apply", "event 4")
		Eventually(func() []eventsv1.Event { return eventsAbout(cms[4]) }).Should(HaveLen(1))
	})

	It("drops and counts an Event the kube-apiserver refuses, without retrying it", func() {
		r := started(Options{Retry: time.Hour})
		cm := subject()
		before := testutil.ToFloat64(dropped)
		r.Eventf(cm, nil, "Unusual", "Settled", "Apply", "an Event's type is Normal or Warning")
		Eventually(func() float64 { return testutil.ToFloat64(dropped) - before }).Should(BeEquivalentTo(1))
		Expect(eventsAbout(cm)).To(BeEmpty())

		By("the next one is written anew")
		r.Eventf(cm, nil, corev1.EventTypeNormal, "Settled", "Apply", "fine")
		Eventually(func() []eventsv1.Event { return eventsAbout(cm) }).Should(HaveLen(1))
	})
})
