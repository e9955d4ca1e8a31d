package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/sink/sqlsink"
)

// bombRows is how many rows the PGP bomb holds: four times the directory,
// between 100,000 and 8 million.
func bombRows(users int) int { return min(max(4*users, 100_000), 8_000_000) }

// pgpBomb syncs a small PGP file that decompresses to millions of valid
// rows, with pgpdecrypt's default limits, into the seeded SQLite database,
// and reports the time to fail, the error and the peak RSS. It checks that
// nothing was applied.
func (b *benchmark) pgpBomb(ctx context.Context, t *sqliteTarget, dir string) error {
	start := time.Now()
	rows := bombRows(b.c.users)
	bombDir, key, err := makeBomb(filepath.Join(dir, "bomb"), rows, b.c.dir != "")
	if err != nil {
		return fmt.Errorf("pgp bomb: %w", err)
	}
	file := filepath.Join(bombDir, "users.csv.pgp")
	size := fileSize(file)
	fmt.Fprintf(b.out, "\nPGP bomb: %d valid rows, %.0f MB of CSV, compressed (zlib) and encrypted to %.1f MB, in %v\n",
		rows, mb(int64(rows*len(bombRow(nil, 0)))), mb(size), since(start))
	keys, err := pgpdecrypt.ReadKeys(bytes.NewReader(key), nil)
	if err != nil {
		return err
	}
	d, err := pgpdecrypt.New(keys, nil)
	if err != nil {
		return err
	}
	dec := decrypt.BySuffix(d, ".pgp")
	var sink *sqlsink.Sink
	var db *sql.DB
	var failure error
	path := ""
	c := &comparison{
		title:  "a PGP bomb synced into SQLite (pgpdecrypt's default limits)",
		rounds: min(b.c.rounds, 3),
		setup: func(ctx context.Context, _ int) (err error) {
			if path, err = t.copySeed("bomb.db"); err != nil {
				return err
			}
			db, sink, err = openSQLite(ctx, path)
			return err
		},
		teardown: func(ctx context.Context, _ int) error {
			n, err := scanKeys(ctx, db, sqlsink.SQLite)
			if err == nil && n != b.c.users {
				err = fmt.Errorf("the bomb changed the directory: %d users, want %d", n, b.c.users)
			}
			err = errors.Join(err, db.Close())
			bench.RemoveSQLite(path)
			return err
		},
		sides: []side{{name: "sync the bomb", measured: true, steps: []step{{"sync", func(ctx context.Context) error {
			res, err := b.syncFolder(ctx, bombDir, sink, nil, dec)
			if err == nil || res.Applied != (usersync.Counts{}) {
				return fmt.Errorf("the bomb did not fail: %s, applied %+v", res.Status, res.Applied)
			}
			failure = err
			return nil
		}}}}},
	}
	res, err := c.run(ctx, b.out)
	if err != nil {
		return err
	}
	limit := "the bomb's limit"
	if errors.Is(failure, pgpdecrypt.ErrTooLarge) {
		limit = fmt.Sprintf("%d× its %.1f MB", pgpdecrypt.DefaultMaxExpansion, mb(size))
	}
	fmt.Fprintf(b.out, "the sync failed, nothing applied (%s): %v\n", limit, failure)
	b.add(row{id: "bomb-sqlite", what: fmt.Sprintf("PGP bomb, %.1f MB → %d rows, SQLite", mb(size), rows), sync: res[0],
		floorNote: "fails: " + firstLine(failure), target: "RSS ≤ budget + 128 MiB"})
	return nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(fmt.Sprint(err), "\n")
	if len(s) > 90 {
		s = s[:87] + "..."
	}
	return s
}

// bombRow appends the bomb's row of user u: a valid user, like every
// other row but for its UniqueID, and long, so that the rows compress about
// 100 to 1.
func bombRow(b []byte, u int) []byte {
	b = strconv.AppendInt(append(b, "EMP"...), int64(10_000_000+u), 10)
	return append(b, ",Bomb Row,bomb.row@example.com,\"Assistant to the Regional Manager (acting) for paper sales, client relations, "+
		"quality assurance, customer service, warehouse logistics, office administration and the party planning committee, "+
		"Scranton and Stamford branches; also Assistant to the Regional Manager\",+46 70 123 45 67,,2025-11-21 02:00:00,"+
		"\"Scranton branch 00,Akron Branch 01\",,Bomb,Row\n"...)
}

// makeBomb writes, in folder dir, a key and users.csv.pgp: rows valid
// users (see bombRow), encrypted to the key. It returns the folder the file is alone in
// and the private key. With reuse, files an earlier run wrote are kept.
func makeBomb(dir string, rows int, reuse bool) (string, []byte, error) {
	fileDir := filepath.Join(dir, "drop")
	keyPath, stamp := filepath.Join(dir, "key.pgp"), filepath.Join(dir, "bomb")
	want := "rows " + strconv.Itoa(rows) + "\n"
	if reuse {
		got, err := os.ReadFile(stamp)
		key, kerr := os.ReadFile(keyPath)
		if err == nil && kerr == nil && string(got) == want {
			return fileDir, key, nil
		}
	}
	os.Remove(stamp)
	if err := os.MkdirAll(fileDir, 0o700); err != nil {
		return "", nil, err
	}
	entity, err := openpgp.NewEntity("usersync bench", "throwaway", "bench@example.com",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, DefaultCompressionAlgo: packet.CompressionZLIB})
	if err != nil {
		return "", nil, err
	}
	var key bytes.Buffer
	if err := entity.SerializePrivate(&key, nil); err != nil {
		return "", nil, err
	}
	f, err := os.Create(filepath.Join(fileDir, "users.csv.pgp"))
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	cfg := &packet.Config{DefaultCompressionAlgo: packet.CompressionZLIB}
	w, err := openpgp.Encrypt(f, []*openpgp.Entity{entity}, nil, nil, &openpgp.FileHints{FileName: "users.csv"}, cfg)
	if err != nil {
		return "", nil, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(strings.Join(gen.Columns(), ",") + "\n")
	var row []byte
	for u := range rows {
		row = bombRow(row[:0], u)
		if _, err := bw.Write(row); err != nil {
			return "", nil, err
		}
	}
	if err := bw.Flush(); err != nil {
		return "", nil, err
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(keyPath, key.Bytes(), 0o600); err != nil {
		return "", nil, err
	}
	return fileDir, key.Bytes(), os.WriteFile(stamp, []byte(want), 0o600)
}
