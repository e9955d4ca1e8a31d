package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"time"
)

func sqliteShapes(ctx context.Context, db *sql.DB, qs []string) {
	for _, q := range qs {
		for _, raw := range []bool{false, true} {
			best := time.Hour
			var n int
			for range 3 {
				start := time.Now()
				var err error
				if raw {
					n, err = scanRaw(ctx, db, q)
				} else {
					n, err = scanSQL(ctx, db, q)
				}
				if err != nil {
					panic(err)
				}
				best = min(best, time.Since(start))
			}
			fmt.Printf("raw=%v %8v %8d rows %.0f/s  %s\n", raw, best.Round(time.Millisecond), n, float64(n)/best.Seconds(), q)
		}
	}
}

func scanSQL(ctx context.Context, db *sql.DB, q string) (int, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func scanRaw(ctx context.Context, db *sql.DB, q string) (int, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	n := 0
	err = c.Raw(func(dc any) error {
		rows, err := dc.(driver.QueryerContext).QueryContext(ctx, q, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			n++
		}
	})
	return n, err
}
