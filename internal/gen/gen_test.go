package gen

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, data []byte, comma rune) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	r.Comma = comma
	rows, err := r.ReadAll()
	require.NoError(t, err)
	return rows
}

func TestWriteParses(t *testing.T) {
	for _, c := range []Config{
		{Rows: 500, Seed: 1},
		{Rows: 500, Seed: 1, Comma: ';', CRLF: true, BOM: true},
		{Rows: 500, Seed: 1, Comma: ',', CRLF: true, QuoteAll: true},
	} {
		data := Bytes(c)
		comma := ','
		if c.Comma != 0 {
			comma = rune(c.Comma)
		}
		rows := readAll(t, data, comma)
		require.Len(t, rows, 501)
		assert.Equal(t, Columns(), rows[0])
		assert.Equal(t, "EMP00000000", rows[1][0])
		assert.Equal(t, "EMP00000499", rows[500][0])
		assert.Equal(t, c.CRLF, bytes.Contains(data, []byte("\r\n")))
		assert.Equal(t, c.BOM, bytes.HasPrefix(data, []byte("\uFEFF")))
		skipped := 0
		for _, row := range rows[1:] {
			assert.Contains(t, row[2], "@")
			n := strings.Count(row[7], ",") + 1
			assert.True(t, n >= 1 && n <= 3, row[7])
			if row[8] == "1" {
				skipped++
			}
		}
		assert.Equal(t, 2, skipped, "every 200th user is skipped")
		if c.QuoteAll {
			first, _, _ := bytes.Cut(data, []byte("\r\n"))
			assert.Equal(t, `"UniqueID","Name","Mail",`, string(first[:25]))
			assert.Equal(t, readAll(t, Bytes(Config{Rows: 500, Seed: 1}), ','), rows, "the same values, quoted")
		}
	}
}

func TestWriteDeterministic(t *testing.T) {
	a := Bytes(Config{Rows: 1000, Seed: 7})
	assert.Equal(t, a, Bytes(Config{Rows: 1000, Seed: 7}))
	assert.NotEqual(t, a, Bytes(Config{Rows: 1000, Seed: 8}))

	// Users depend on their number alone, so overlapping files agree.
	later := readAll(t, Bytes(Config{Rows: 1000, First: 500, Seed: 7}), ',')
	assert.Equal(t, readAll(t, a, ',')[501:], later[1:501])
}

func TestWriteVary(t *testing.T) {
	base := readAll(t, Bytes(Config{Rows: 10000, Seed: 3}), ',')
	varied := readAll(t, Bytes(Config{Rows: 10000, Seed: 3, Vary: 0.1, VarySeed: 1}), ',')
	require.Len(t, varied, len(base))
	changed := 0
	for i := 1; i < len(base); i++ {
		b, v := base[i], varied[i]
		assert.Equal(t, b[:3], v[:3], "identity, name and email stay")
		if !assert.ObjectsAreEqual(b, v) {
			changed++
		}
	}
	assert.InDelta(t, 1000, changed, 150, "about 10%% of rows vary")

	all := readAll(t, Bytes(Config{Rows: 100, Seed: 3, Vary: 1, VarySeed: 1}), ',')
	for i := 1; i < len(all); i++ {
		assert.NotEqual(t, base[i][4], all[i][4], "Vary 1 changes every phone number")
	}
}

func TestWriteManagers(t *testing.T) {
	plain := readAll(t, Bytes(Config{Rows: 20, Seed: 3}), ',')
	rows := readAll(t, Bytes(Config{Rows: 20, Seed: 3, ManagerFanout: 3}), ',')
	require.Len(t, rows, 21)
	assert.Equal(t, "", rows[1][3], "user 0 reports to nobody")
	assert.Equal(t, "EMP00000000", rows[2][3])
	assert.Equal(t, "EMP00000000", rows[4][3])
	assert.Equal(t, "EMP00000001", rows[5][3])
	assert.Equal(t, "EMP00000006", rows[20][3], "user 19 reports to user 6")
	for i := range rows {
		if i > 0 {
			plain[i][3] = rows[i][3]
		}
	}
	assert.Equal(t, plain, rows, "only the titles differ")
}

func TestWriteZeroAllocsPerRow(t *testing.T) {
	for _, c := range []Config{{Seed: 1}, {Seed: 1, QuoteAll: true}} {
		g := newGenerator(c)
		g.row(0) // grow the buffers
		u := 0
		allocs := testing.AllocsPerRun(1000, func() {
			u++
			g.row(u)
		})
		assert.Zero(t, allocs)
	}
}

func BenchmarkWrite(b *testing.B) {
	c := Config{Rows: 100_000, Seed: 1}
	n := int64(len(Bytes(c)))
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, c); err != nil {
			b.Fatal(err)
		}
	}
}
