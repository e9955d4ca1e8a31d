// Command scimbench measures sink/scimsink creating -users users on an
// in-process SCIM 2.0 server (internal/scimtest, on 127.0.0.1), two ways in
// the same run:
//
//   - one by one: Apply for each user, which looks the user up (a GET by
//     externalId, then one by userName) and creates it (POST): three
//     requests a user;
//   - Bulk: ApplyBatch of -batch changes at a time through the Bulk
//     endpoint, which looks the users up 50 to a filter and sends the
//     creates -ops to a request.
//
// Each way runs -rounds times, alternately, on a fresh server; it prints
// each round's users and requests a second, the medians, and the ratio of
// the two times. Both ways must leave exactly -users users on the server.
//
//	go run ./examples/scimbench -users 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
)

func main() {
	users := flag.Int("users", 10_000, "users to create")
	batch := flag.Int("batch", 10_000, "changes per ApplyBatch")
	ops := flag.Int("ops", 1000, "the server's maxOperations per Bulk request")
	rounds := flag.Int("rounds", 3, "rounds of each way")
	flag.Parse()
	ctx := context.Background()
	changes := make([]usersync.Change, *users)
	for i := range changes {
		r := usersync.Record{Key: fmt.Sprintf("EMP%07d", i), Attrs: usersync.NewAttrs(
			"name", fmt.Sprintf("User %d", i), "email", fmt.Sprintf("user%d@example.com", i), "title", "Nurse", "phone", "+46 70 123 45 67")}
		changes[i] = usersync.Change{Kind: usersync.CreateUser, User: r}
	}
	ways := []struct {
		name  string
		apply func(context.Context, *scimsink.Sink) error
	}{
		{"one by one", func(ctx context.Context, s *scimsink.Sink) error {
			for _, c := range changes {
				if err := s.Apply(ctx, c); err != nil {
					return err
				}
			}
			return nil
		}},
		{"bulk", func(ctx context.Context, s *scimsink.Sink) error {
			for i := 0; i < len(changes); i += *batch {
				for _, err := range s.ApplyBatch(ctx, changes[i:min(i+*batch, len(changes))]) {
					if err != nil {
						return err
					}
				}
			}
			return nil
		}},
	}
	times := make([][]time.Duration, len(ways))
	for r := range *rounds {
		for w, way := range ways {
			srv, err := scimtest.Start(&scimtest.Options{Bulk: true, MaxOperations: *ops, MaxPayloadSize: 8 << 20})
			if err != nil {
				log.Fatal(err)
			}
			sink, err := scimsink.New(ctx, srv.URL, &scimsink.Options{NoBulk: way.name != "bulk"})
			if err != nil {
				log.Fatal(err)
			}
			before := srv.Requests()
			start := time.Now()
			if err := way.apply(ctx, sink); err != nil {
				log.Fatalf("%s: %v", way.name, err)
			}
			d := time.Since(start)
			reqs := srv.Requests() - before
			if n := len(srv.Users()); n != *users {
				log.Fatalf("%s: the server holds %d users, want %d", way.name, n, *users)
			}
			srv.Close()
			times[w] = append(times[w], d)
			fmt.Printf("round %d  %-10s %8.3fs  %8.0f users/s  %7d requests  %8.0f requests/s\n",
				r+1, way.name, d.Seconds(), float64(*users)/d.Seconds(), reqs, float64(reqs)/d.Seconds())
		}
	}
	fmt.Println()
	med := make([]time.Duration, len(ways))
	for w, way := range ways {
		med[w] = bench.Median(times[w])
		fmt.Printf("median   %-10s %8.3fs  %8.0f users/s\n", way.name, med[w].Seconds(), float64(*users)/med[w].Seconds())
	}
	fmt.Printf("\n%d creates: bulk is %.1f times as fast as one by one\n", *users, bench.Ratio(med[0], med[1]))
	os.Exit(0)
}
