package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

func shapes(ctx context.Context, t string, qs []string) {
	c, err := pgx.Connect(ctx, os.Getenv("USERSYNC_TEST_POSTGRES_DSN"))
	if err != nil {
		panic(err)
	}
	defer c.Close(ctx)
	if os.Getenv("JIT") != "" {
		c.Exec(ctx, "SET jit = "+os.Getenv("JIT"))
	}
	for _, q := range qs {
		for _, f := range []int16{pgx.TextFormatCode} {
			best := time.Hour
			var n int
			for range 5 {
				start := time.Now()
				rows, err := c.Query(ctx, fmt.Sprintf(q, t, t, t), pgx.QueryResultFormats{f})
				if err != nil {
					panic(err)
				}
				n = 0
				for rows.Next() {
					_ = rows.RawValues()
					n++
				}
				if rows.Err() != nil {
					panic(rows.Err())
				}
				best = min(best, time.Since(start))
			}
			fmt.Printf("fmt=%d %8v %8d rows  %s\n", f, best.Round(time.Millisecond), n, q)
		}
	}
}
