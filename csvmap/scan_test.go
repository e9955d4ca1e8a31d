package csvmap

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"
)

// A scanResult is what one read of a record returned.
type scanResult struct {
	fields []string
	err    error
}

// scanAll reads data with the scanner.
func scanAll(data string, comma byte, bufSize int) []scanResult {
	s := newScanner(bufio.NewReaderSize(strings.NewReader(data), bufSize), comma)
	var out []scanResult
	for {
		f, err := s.read()
		if err == io.EOF {
			return out
		}
		out = append(out, scanResult{slices.Clone(f), err})
	}
}

// csvAll reads data with encoding/csv, set up as the scanner claims to be.
func csvAll(data string, comma byte) []scanResult {
	r := csv.NewReader(strings.NewReader(data))
	r.Comma = rune(comma)
	r.ReuseRecord = true
	var out []scanResult
	for {
		f, err := r.Read()
		if err == io.EOF {
			return out
		}
		out = append(out, scanResult{slices.Clone(f), err})
	}
}

// checkScanAgrees fails t unless the scanner reads data as encoding/csv
// does, with buffers small enough to split lines and large ones.
func checkScanAgrees(t *testing.T, data string, comma byte) {
	t.Helper()
	want := csvAll(data, comma)
	for _, size := range []int{16, 4096} {
		got := scanAll(data, comma, size)
		if !assert.Equal(t, want, got, "%q with %q, buffer %d", data, comma, size) {
			return
		}
	}
}

func TestScannerAgreesWithEncodingCSV(t *testing.T) {
	for _, data := range []string{
		"", "\n", "\r\n", "a", "a\n", "a\r", "a\r\n", "a,b\nc,d\n", "a,b\nc\n", "a,b\nc,d,e\n",
		`"a",b` + "\n", `"a""b",c`, `"a` + "\n" + `b",c`, `"a` + "\r\n" + `b"`, `a"b,c`, `"a"b,c`, `"a`,
		"\"a\n", "a,\"b\n\n\nc\"\n", `"",""`, "\"\"\n\"\"\n", "a\rb,c\n", "\"a\rb\"\n", "x,\"\"\"\"\n",
		"a,b\n\n\nc,d", "\xef\xbb\xbfa,b\n", "a\x00,b\n", "\"a\"\r\n", "\"a\"\r", "a,b,\n,,\n", "\"a\",\"b\"\"\n",
		strings.Repeat("x", 100) + "," + strings.Repeat("y", 100) + "\n" + `"` + strings.Repeat("z\n", 40) + `"`,
	} {
		for _, comma := range []byte{',', ';', '\t'} {
			checkScanAgrees(t, data, comma)
		}
	}
}

// Random inputs made of the tokens that matter agree too.
func TestScannerAgreesOnRandomInput(t *testing.T) {
	tokens := []string{"a", "bc", ",", ";", "\t", `"`, `""`, "\n", "\r\n", "\r", " ", "é", "\x00", "\xff", strings.Repeat("w", 20)}
	rnd := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for range 30_000 {
		b.Reset()
		for range rnd.IntN(40) {
			b.WriteString(tokens[rnd.IntN(len(tokens))])
		}
		checkScanAgrees(t, b.String(), []byte{',', ';', '\t'}[rnd.IntN(3)])
		if t.Failed() {
			return
		}
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range spectrum {
		f.Add([]byte(s), byte(','))
	}
	f.Add([]byte("a;\"b\nc\";d\r\n"), byte(';'))
	f.Fuzz(func(t *testing.T, data []byte, comma byte) {
		switch comma {
		case ',', ';', '\t', '|':
		default:
			comma = ','
		}
		checkScanAgrees(t, string(data), comma)
	})
}

func TestScannerClassifiesRecords(t *testing.T) {
	s := newScanner(bufio.NewReader(strings.NewReader("a,b\nä,Ł\n\"a\",b\n\"a\x00\",b\nA\u030A,b\n\"€\",b\n")), ',')
	for _, want := range []textKind{asciiText, otherText, asciiText, otherText, otherText, otherText} {
		_, err := s.read()
		require.NoError(t, err)
		assert.Equal(t, want, s.kind)
	}
}

// Text classify calls latinText is in NFC, and stays so however its characters
// are put together: each is in NFC, and none combines with what comes
// before it (only combining marks would, and they are not Latin text).
func TestLatinTextIsNFC(t *testing.T) {
	var latin []rune
	for r := rune(0x80); r <= 0x17F; r++ {
		s := string(r)
		require.Equal(t, latinText, classify(s), "%U", r)
		p := norm.NFC.PropertiesString(s)
		assert.True(t, norm.NFC.IsNormalString(s) && p.BoundaryBefore() && p.CCC() == 0, "%U", r)
		latin = append(latin, r)
	}
	rnd := rand.New(rand.NewPCG(11, 12))
	for range 10_000 {
		var b strings.Builder
		for range rnd.IntN(12) {
			if rnd.IntN(2) == 0 {
				b.WriteByte(byte(' ' + rnd.IntN(95)))
			} else {
				b.WriteRune(latin[rnd.IntN(len(latin))])
			}
		}
		require.True(t, norm.NFC.IsNormalString(b.String()), "%q", b.String())
	}
	assert.Equal(t, otherText, classify("\u0180"))
	assert.Equal(t, otherText, classify("A\u030A"))
	assert.Equal(t, otherText, classify("\xC3"))
}

// Records share the arena's buffers and stay valid as later ones are read.
func TestScannerRecordsStayValid(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(strings.Repeat("v", i%50) + ",\"q" + strings.Repeat("\n", i%3) + "\"\n")
	}
	var kept [][]string
	s := newScanner(bufio.NewReaderSize(strings.NewReader(b.String()), 16), ',')
	for {
		f, err := s.read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		kept = append(kept, slices.Clone(f))
	}
	require.Len(t, kept, 5000)
	for i, f := range kept {
		assert.Equal(t, []string{strings.Repeat("v", i%50), "q" + strings.Repeat("\n", i%3)}, f, "record %d", i)
	}
}
