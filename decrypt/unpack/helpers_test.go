package unpack_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"hash/crc32"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// gz returns data gzipped.
func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// member is a file to put in a zip.
type member struct {
	name string
	data []byte
}

// zipOf returns a zip of the members, deflated, in order. Names are
// written as given, hostile ones too.
func zipOf(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range members {
		f, err := w.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate})
		require.NoError(t, err)
		_, err = f.Write(m.data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// rawZip returns a zip of one file whose compressed data is deflated and
// whose header announces size bytes uncompressed, whatever data holds.
func rawZip(t testing.TB, name string, deflated []byte, size uint64, crc uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate,
		CompressedSize64: uint64(len(deflated)), UncompressedSize64: size, CRC32: crc})
	require.NoError(t, err)
	_, err = f.Write(deflated)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// deflate returns data deflated, as a zip holds it, and its CRC-32.
func deflate(t testing.TB, data []byte) ([]byte, uint32) {
	t.Helper()
	z := zipOf(t, member{"x", data})
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	require.NoError(t, err)
	rc, err := r.File[0].OpenRaw()
	require.NoError(t, err)
	raw, err := io.ReadAll(rc)
	require.NoError(t, err)
	return raw, crc32.ChecksumIEEE(data)
}

// opened is what an Unpacker made of a content: the files it holds, by
// name, or the content itself under "" when it is not a container.
type opened struct {
	format  string
	skipped []string // Unpacked.Skipped
	files   []string
	data    map[string][]byte
}

// open unpacks data, named name, and reads everything it holds; err is
// the first error met.
func open(t testing.TB, u usersync.Unpacker, name string, data []byte, containers ...string) (opened, error) {
	t.Helper()
	p, cleanup := usersync.NewPacked(bytes.NewReader(data), usersync.FileInfo{Name: name, Size: int64(len(data))}, containers, t.TempDir())
	defer cleanup()
	return readAll(u, p)
}

// openStream is open with a content that offers no random access, so that
// a zip is copied first.
func openStream(t testing.TB, u usersync.Unpacker, name string, data []byte) (opened, error) {
	t.Helper()
	p, cleanup := usersync.NewPacked(io.MultiReader(bytes.NewReader(data)), usersync.FileInfo{Name: name, Size: int64(len(data))}, nil, t.TempDir())
	defer cleanup()
	return readAll(u, p)
}

func readAll(u usersync.Unpacker, p *usersync.Packed) (opened, error) {
	o := opened{data: map[string][]byte{}}
	up, err := u.Unpack(context.Background(), p)
	if err != nil {
		return o, err
	}
	if up == nil {
		o.data[""], err = io.ReadAll(p)
		return o, err
	}
	o.format, o.skipped = up.Format, up.Skipped
	if up.Stream != nil {
		o.data[""], err = io.ReadAll(up.Stream)
		return o, err
	}
	for {
		fi, r, err := up.Archive.Next()
		if err == io.EOF {
			return o, nil
		}
		if err != nil {
			return o, err
		}
		o.files = append(o.files, fi.Name)
		if o.data[fi.Name], err = io.ReadAll(r); err != nil {
			return o, err
		}
	}
}
