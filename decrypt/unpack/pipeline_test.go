package unpack_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/memsource"
	"github.com/usersync/usersync/source/sftpsource"
)

const groupsCSV = "id,name,email\ne3,Cy Dahl,cy@example.com\n"

// pgpKey is a key pair made once for the package's tests.
var pgpKey = sync1(func() *openpgp.Entity {
	e, err := openpgp.NewEntity("Acme", "", "acme@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		panic(err)
	}
	return e
})

func sync1[T any](f func() T) func() T {
	var v T
	var done bool
	return func() T {
		if !done {
			v, done = f(), true
		}
		return v
	}
}

// seal encrypts data to pgpKey, as a customer's gpg would.
func seal(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, []*openpgp.Entity{pgpKey()}, nil, nil, nil, nil)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// pgp returns a Decryptor of pgpKey's files: all of them when strict,
// else those named or looking like ciphertext.
func pgp(t testing.TB, strict bool) usersync.Decryptor {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pgpKey().SerializePrivate(&buf, nil))
	keys, err := pgpdecrypt.ReadKeys(&buf, nil)
	require.NoError(t, err)
	d, err := pgpdecrypt.New(keys, nil)
	require.NoError(t, err)
	if strict {
		return d
	}
	return decrypt.Chain(decrypt.BySuffix(d, ".pgp", ".gpg"), decrypt.ByContent(d, pgpdecrypt.IsMessage))
}

// pipeline returns a Pipeline from src to a new memsink, which unpacks
// with u and decrypts with d, with csvmap routes for users*.csv and
// groups*.csv, whatever follows their names.
func pipeline(t testing.TB, src usersync.Source, d usersync.Decryptor, u usersync.Unpacker) (*usersync.Pipeline, *memsink.Sink) {
	t.Helper()
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	require.NoError(t, err)
	byName, err := csvmap.NewByName(csvmap.Route{Pattern: "users*", Mapper: m}, csvmap.Route{Pattern: "groups*", Mapper: m})
	require.NoError(t, err)
	sink := memsink.New()
	return &usersync.Pipeline{Source: src, Decryptor: d, Unpacker: u, Mapper: byName,
		Reconciler: reconcile.New(nil), Sink: sink, TempDir: t.TempDir()}, sink
}

func keys(s *memsink.Sink) []string {
	users, _ := s.Snapshot()
	var out []string
	for _, u := range users {
		out = append(out, u.Key)
	}
	return out
}

func put(t testing.TB, src *memsource.Source, name string, data []byte) {
	t.Helper()
	require.NoError(t, src.Put(name, data, time.Now()))
}

// Each way customers pack a file applies, in the order the name says,
// whether the Decryptor decrypts every file or only those that look so.
func TestCompositions(t *testing.T) {
	plain := []byte(csv)
	for _, tc := range []struct {
		name    string
		data    func(t testing.TB) []byte
		files   []string // the members of the delivered file
		keys    []string
		crypted bool
	}{
		{name: "users.csv.gz", data: func(t testing.TB) []byte { return gz(t, plain) }},
		{name: "users.csv.gz.pgp", data: func(t testing.TB) []byte { return seal(t, gz(t, plain)) }, crypted: true},
		{name: "users.csv.pgp.gz", data: func(t testing.TB) []byte { return gz(t, seal(t, plain)) }, crypted: true},
		{name: "bundle.zip", data: func(t testing.TB) []byte {
			return zipOf(t, member{"users.csv", plain}, member{"groups.csv", []byte(groupsCSV)})
		}, files: []string{"bundle.zip/users.csv", "bundle.zip/groups.csv"}, keys: []string{"e1", "e2", "e3"}},
		{name: "bundle.zip.pgp", data: func(t testing.TB) []byte {
			return seal(t, zipOf(t, member{"users.csv", plain}, member{"groups.csv", []byte(groupsCSV)}))
		}, files: []string{"bundle.zip.pgp/users.csv", "bundle.zip.pgp/groups.csv"}, keys: []string{"e1", "e2", "e3"}, crypted: true},
		{name: "bundle.zip", data: func(t testing.TB) []byte {
			return zipOf(t, member{"users.csv.pgp", seal(t, plain)}, member{"groups.csv.pgp", seal(t, []byte(groupsCSV))})
		}, files: []string{"bundle.zip/users.csv.pgp", "bundle.zip/groups.csv.pgp"}, keys: []string{"e1", "e2", "e3"}, crypted: true},
	} {
		for _, strict := range []bool{false, true} {
			if strict && !tc.crypted {
				continue
			}
			t.Run(fmt.Sprintf("%s/%v/strict=%v", tc.name, tc.files, strict), func(t *testing.T) {
				src := memsource.New()
				data := tc.data(t)
				put(t, src, tc.name, data)
				p, sink := pipeline(t, src, pgp(t, strict), unpack.New(nil))
				res, err := p.Run(context.Background())
				require.NoError(t, err)
				assert.Equal(t, usersync.Succeeded, res.Status)
				want := tc.keys
				if want == nil {
					want = []string{"e1", "e2"}
				}
				assert.ElementsMatch(t, want, keys(sink))
				require.Len(t, res.Files, 1)
				fr := res.Files[0]
				assert.Equal(t, tc.name, fr.Name)
				assert.Equal(t, int64(len(data)), fr.Bytes, "the delivered file's bytes")
				assert.Equal(t, len(want), fr.Records)
				if tc.crypted {
					assert.NotEmpty(t, fr.DecryptedBy)
				}
				var names []string
				for _, m := range fr.Members {
					names = append(names, m.Name)
					assert.NoError(t, m.Err)
					assert.Positive(t, m.Records)
					if tc.crypted {
						assert.NotEmpty(t, m.DecryptedBy)
					}
				}
				assert.Equal(t, tc.files, names)
				assert.Empty(t, tempFiles(t, p.TempDir), "copies are removed")
			})
		}
	}
}

func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Without an Unpacker, a gzip file is read as it is, and the Mapper
// refuses it: nothing is applied.
func TestWithoutUnpackerContainersAreNotOpened(t *testing.T) {
	src := memsource.New()
	put(t, src, "users.csv.gz", gz(t, []byte(csv)))
	p, sink := pipeline(t, src, nil, nil)
	res, err := p.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, usersync.Failed, res.Status)
	assert.Empty(t, keys(sink))
}

// runFails runs a pipeline over one file and checks that it fails, with
// nothing applied, with an error that is target, and returns the error.
func runFails(t *testing.T, u usersync.Unpacker, name string, data []byte, target error) *usersync.FileError {
	t.Helper()
	src := memsource.New()
	put(t, src, name, data)
	p, sink := pipeline(t, src, pgp(t, false), u)
	res, err := p.Run(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, target)
	assert.Equal(t, usersync.Failed, res.Status)
	assert.Empty(t, keys(sink), "nothing applied")
	assert.Empty(t, tempFiles(t, p.TempDir), "copies are removed")
	var fe *usersync.FileError
	require.ErrorAs(t, err, &fe)
	return fe
}

func TestBombsFailTheRun(t *testing.T) {
	t.Run("Gzip", func(t *testing.T) {
		fe := runFails(t, unpack.New(nil), "users.csv.gz", gzipBomb(t, 100), unpack.ErrLimit)
		assert.Equal(t, "unpack", fe.Op)
		assert.Equal(t, "users.csv.gz", fe.File)
	})
	t.Run("GzipInPGP", func(t *testing.T) {
		fe := runFails(t, unpack.New(nil), "users.csv.gz.pgp", seal(t, gzipBomb(t, 10)), unpack.ErrLimit)
		assert.Equal(t, "unpack", fe.Op)
	})
	t.Run("Zip", func(t *testing.T) {
		fe := runFails(t, unpack.New(nil), "bundle.zip", zipOf(t, member{"users.csv", make([]byte, 8<<20)}), unpack.ErrLimit)
		assert.Equal(t, "unpack", fe.Op)
		assert.Equal(t, "bundle.zip", fe.File)
	})
	t.Run("ZipInPGPOverTheSize", func(t *testing.T) {
		// The decrypted zip is copied to TempDir up to MaxSize, no further.
		big := zipOf(t, member{"users.csv", []byte(strings.Repeat(csv, 20000))})
		runFails(t, unpack.New(&unpack.Options{MaxSize: int64(len(big)) - 1}), "bundle.zip.pgp", seal(t, big), unpack.ErrLimit)
	})
}

func TestDamagedContainersFailTheRun(t *testing.T) {
	big := []byte(strings.Repeat(csv, 5000))
	gzipped := gz(t, big)
	zipped := zipOf(t, member{"users.csv", big})
	for name, data := range map[string][]byte{
		"users.csv.gz":       gzipped[:len(gzipped)-5],
		"users.csv.gz/crc":   append(bytes.Clone(gzipped[:len(gzipped)-8]), 0, 0, 0, 0, 0, 0, 0, 0),
		"users.csv.gz/mid":   gzipped[:len(gzipped)/2],
		"users.csv.pgp.gz":   gz(t, seal(t, big))[:len(gzipped)/2],
		"bundle.zip":         zipped[:len(zipped)-10],
		"bundle.zip/mid":     zipped[:len(zipped)/2],
		"bundle.zip.pgp/cut": seal(t, zipped[:len(zipped)-10]),
	} {
		t.Run(name, func(t *testing.T) {
			file, _, _ := strings.Cut(name, "/")
			fe := runFails(t, unpack.New(nil), file, data, usersync.ErrIntegrity)
			assert.Contains(t, []string{"unpack", "decrypt"}, fe.Op, "%v", fe)
		})
	}
	t.Run("ZipFileCRC", func(t *testing.T) {
		// The data of the first file changed: its checksum fails once it
		// is read, and the file is named.
		z := zipOf(t, member{"users.csv", big}, member{"groups.csv", []byte(groupsCSV)})
		i := bytes.Index(z, []byte("users.csv")) + len("users.csv") + 100
		z[i] ^= 0x01
		fe := runFails(t, unpack.New(nil), "bundle.zip", z, usersync.ErrIntegrity)
		assert.Equal(t, "bundle.zip/users.csv", fe.File)
	})
}

func TestHostileZipsFailTheRun(t *testing.T) {
	for _, name := range []string{"../../etc/passwd", "/etc/passwd", "users.csv\x00.txt", `C:\users.csv`} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			z := zipOf(t, member{"users.csv", []byte(csv)}, member{name, []byte(csv)})
			fe := runFails(t, unpack.New(nil), "bundle.zip", z, usersync.ErrMemberName)
			assert.Equal(t, "bundle.zip", fe.File)
			assert.Contains(t, fe.Error(), fmt.Sprintf("%q", name))
		})
	}
	t.Run("Duplicate", func(t *testing.T) {
		z := zipOf(t, member{"users.csv", []byte(csv)}, member{"users.csv", []byte(csv)})
		runFails(t, unpack.New(nil), "bundle.zip", z, usersync.ErrMemberName)
	})
	t.Run("TooManyFiles", func(t *testing.T) {
		var ms []member
		for i := range 6 {
			ms = append(ms, member{fmt.Sprintf("users%d.csv", i), []byte(csv)})
		}
		runFails(t, unpack.New(&unpack.Options{MaxFiles: 5}), "bundle.zip", zipOf(t, ms...), unpack.ErrLimit)
	})
	t.Run("ZipInZip", func(t *testing.T) {
		z := zipOf(t, member{"users.zip", zipOf(t, member{"users.csv", []byte(csv)})})
		fe := runFails(t, unpack.New(nil), "bundle.zip", z, unpack.ErrLimit)
		assert.Equal(t, "bundle.zip/users.zip", fe.File)
	})
	t.Run("AFileNoRouteMatches", func(t *testing.T) {
		z := zipOf(t, member{"users.csv", []byte(csv)}, member{"README.txt", []byte("hello")})
		fe := runFails(t, unpack.New(nil), "bundle.zip", z, csvmap.ErrNoSchema)
		assert.Equal(t, "bundle.zip/README.txt", fe.File)
	})
	t.Run("AnEmptyFile", func(t *testing.T) {
		z := zipOf(t, member{"users.csv", []byte(csv)}, member{"groups.csv", []byte("id,name,email\n")})
		fe := runFails(t, unpack.New(nil), "bundle.zip", z, usersync.ErrNoRecords)
		assert.Equal(t, "bundle.zip/groups.csv", fe.File)
	})
	t.Run("NoFile", func(t *testing.T) {
		runFails(t, unpack.New(nil), "bundle.zip", zipOf(t, member{"empty/", nil}), usersync.ErrNoRecords)
	})
}

// A row error in a file of a zip names the file as "bundle.zip/users.csv".
func TestRowErrorsNameTheFileOfTheZip(t *testing.T) {
	src := memsource.New()
	put(t, src, "bundle.zip", zipOf(t, member{"users.csv", []byte(csv + "e9,No Mail,\n")}))
	p, _ := pipeline(t, src, nil, unpack.New(nil))
	res, err := p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, res.Rejected, 1)
	assert.Equal(t, "bundle.zip/users.csv", res.Rejected[0].File)
	assert.Equal(t, 1, res.Files[0].Rejected)
	assert.Equal(t, 1, res.Files[0].Members[0].Rejected)
}

// With a Deduplicator, the zip a run applied is recognized by the
// delivered file's bytes: the next run does nothing.
func TestAppliedZipIsSkipped(t *testing.T) {
	src := memsource.New()
	put(t, src, "bundle.zip", zipOf(t, member{"users.csv", []byte(csv)}))
	pick, err := source.Pickup(src, &source.PickupOptions{MinAge: -1})
	require.NoError(t, err)
	p, sink := pipeline(t, pick, nil, unpack.New(nil))
	res, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Len(t, keys(sink), 2)
	res, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.True(t, res.Files[0].AlreadyApplied)
}

// Over SFTP, a zip is copied to TempDir (it needs random access), read
// from there, and the copy removed; with a Picker, the copy its first read
// made is used instead.
func TestZipOverSFTP(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	data := seal(t, zipOf(t, member{"users.csv", []byte(csv)}, member{"groups.csv", []byte(groupsCSV)}))
	require.NoError(t, srv.Put("in/bundle.zip.pgp", data, time.Now().Add(-time.Hour)))
	z := zipOf(t, member{"users.csv", []byte("id,name,email\ne4,Di Fo,di@example.com\n")})
	require.NoError(t, srv.Put("in/users.zip", z, time.Now().Add(-time.Hour)))
	src, err := sftpsource.Dial(context.Background(), sftpsource.Config{
		Addr: srv.Addr, User: srv.User(), Password: srv.Password(), Folder: "in", KnownHostsFile: srv.KnownHosts(t),
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })

	for name, s := range map[string]usersync.Source{"Direct": src, "Picker": must(source.Pickup(src, &source.PickupOptions{MinAge: -1}))} {
		t.Run(name, func(t *testing.T) {
			p, sink := pipeline(t, s, pgp(t, false), unpack.New(nil))
			res, err := p.Run(context.Background())
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"e1", "e2", "e3", "e4"}, keys(sink))
			require.Len(t, res.Files, 2)
			assert.Equal(t, int64(len(data)), res.Files[0].Bytes)
			assert.Len(t, res.Files[0].Members, 2)
			assert.Equal(t, "users.zip/users.csv", res.Files[1].Members[0].Name)
			assert.Empty(t, tempFiles(t, p.TempDir), "copies are removed")
		})
	}
	t.Run("CutTransfer", func(t *testing.T) {
		srv := sftptest.NewServer(t, nil)
		big := zipOf(t, member{"users.csv", synctest.CSV(50000)})
		require.NoError(t, srv.Put("in/users.zip", big, time.Now().Add(-time.Hour)))
		proxy := sftptest.NewProxy(t, srv.Addr)
		proxy.CutAfter(int64(len(big)) / 2)
		cut, err := sftpsource.Dial(context.Background(), sftpsource.Config{
			Addr: proxy.Addr, User: srv.User(), Password: srv.Password(), Folder: "in", HostKeyFingerprints: []string{srv.Fingerprint()},
		}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { cut.Close() })
		p, sink := pipeline(t, cut, nil, unpack.New(nil))
		res, err := p.Run(context.Background())
		require.Error(t, err)
		var fe *usersync.FileError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "read", fe.Op, "blamed on the transfer: %v", err)
		assert.Less(t, res.Files[0].Bytes, int64(len(big)))
		assert.Empty(t, keys(sink))
		assert.Empty(t, tempFiles(t, p.TempDir), "copies are removed")
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The run's summary lists the files of a zip under it, by their names.
func TestSummaryListsTheFilesOfAZip(t *testing.T) {
	src := memsource.New()
	put(t, src, "bundle.zip", zipOf(t, member{"users.csv", []byte(csv)}, member{"groups.csv", []byte(groupsCSV)}))
	p, _ := pipeline(t, src, nil, unpack.New(nil))
	res, err := p.Run(context.Background())
	require.NoError(t, err)
	s := report.NewSummary(res, nil)
	require.Len(t, s.Files, 1)
	require.Len(t, s.Files[0].Members, 2)
	assert.Equal(t, "bundle.zip/groups.csv", s.Files[0].Members[1].Name)
	assert.Empty(t, s.Files[0].Members[1].SHA256, "a member has no hash of its own")
	var text bytes.Buffer
	require.NoError(t, report.WriteText(&text, s))
	assert.Contains(t, text.String(), "  bundle.zip: 3 records")
	assert.Contains(t, text.String(), "    bundle.zip/users.csv: 2 records")
	assert.Contains(t, text.String(), "    bundle.zip/groups.csv: 1 record")
}

// The files of a zip the Unpacker leaves out (what macOS adds) are listed
// in the zip's FileResult, not dropped unseen; folders are not.
func TestSkippedFilesOfAZipAreListed(t *testing.T) {
	src := memsource.New()
	put(t, src, "bundle.zip", zipOf(t, member{"users.csv", []byte(csv)}, member{"__MACOSX/", nil},
		member{"__MACOSX/._users.csv", []byte("junk")}, member{"export/", nil}, member{"export/.DS_Store", []byte("junk")}))
	p, sink := pipeline(t, src, nil, unpack.New(nil))
	res, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Len(t, keys(sink), 2)
	require.Len(t, res.Files, 1)
	assert.Equal(t, []string{"bundle.zip/__MACOSX/._users.csv", "bundle.zip/export/.DS_Store"}, res.Files[0].Skipped)
	require.Len(t, res.Files[0].Members, 1)
	assert.Nil(t, res.Files[0].Members[0].Skipped)
}
