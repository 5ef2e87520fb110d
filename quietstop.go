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

package main

import (
	"context"

	"github.com/go-logr/logr"
)

// quietStop is the manager's logger: once stop is done (SIGTERM), the
// errors a normal shutdown produces are logged as what they are. The
// leader elector releases the Lease on the way out and controller-runtime
// then reports "leader election lost" as an error; a lease lost while
// running is still logged at error level.
func quietStop(l logr.Logger, stop context.Context) logr.Logger {
	return logr.New(&stopSink{LogSink: l.GetSink(), stop: stop})
}

type stopSink struct {
	logr.LogSink
	stop context.Context
}

func (s *stopSink) Error(err error, msg string, kv ...any) {
	if s.stop.Err() != nil && err != nil && err.Error() == "leader election lost" {
		s.LogSink.Info(0, "leader election lease released on shutdown", kv...)
		return
	}
	s.LogSink.Error(err, msg, kv...)
}

func (s *stopSink) WithValues(kv ...any) logr.LogSink {
	return &stopSink{LogSink: s.LogSink.WithValues(kv...), stop: s.stop}
}

func (s *stopSink) WithName(name string) logr.LogSink {
	return &stopSink{LogSink: s.LogSink.WithName(name), stop: s.stop}
}
