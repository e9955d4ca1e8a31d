package scimsink_test

import (
	"fmt"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
)

// BenchmarkCreate creates 1,000 users per iteration, one by one and
// through Bulk, on the in-process server. examples/scimbench compares the
// two at 10,000.
func BenchmarkCreate(b *testing.B) {
	const n = 1000
	changes := make([]usersync.Change, n)
	for i := range changes {
		changes[i] = create(fmt.Sprintf("E%05d", i), "name", "Someone", "email", fmt.Sprintf("u%d@example.com", i), "title", "Nurse")
	}
	for _, bulk := range []bool{false, true} {
		b.Run(map[bool]string{false: "OneByOne", true: "Bulk"}[bulk], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				srv := scimtest.New(b, &scimtest.Options{Bulk: true})
				s, err := scimsink.New(b.Context(), srv.URL, &scimsink.Options{NoBulk: !bulk})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if bulk {
					if errs := s.ApplyBatch(b.Context(), changes); errs != nil {
						b.Fatal(errs)
					}
					continue
				}
				for _, c := range changes {
					if err := s.Apply(b.Context(), c); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
