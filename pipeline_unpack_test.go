package usersync_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/decrypttest"
)

// fakeArchive is a container format for tests: "ARCHIVE\n" then files
// as "name\n" + content up to a line "--". Its files are given in order,
// names unchecked, so that the Pipeline's own checks show.
func fakeArchive(files ...string) string {
	var b strings.Builder
	b.WriteString("ARCHIVE\n")
	for i := 0; i+1 < len(files); i += 2 {
		b.WriteString(files[i] + "\n" + files[i+1] + "--\n")
	}
	return b.String()
}

type fakeFiles struct {
	files [][2]string
	err   error // returned by Next after the files
}

func (a *fakeFiles) Next() (usersync.FileInfo, io.Reader, error) {
	if len(a.files) == 0 {
		if a.err != nil {
			return usersync.FileInfo{}, nil, a.err
		}
		return usersync.FileInfo{}, nil, io.EOF
	}
	f := a.files[0]
	a.files = a.files[1:]
	return usersync.FileInfo{Name: f[0], Size: -1}, strings.NewReader(f[1]), nil
}

// fakeUnpacker opens fakeArchive files, and "UPPER\n" streams, whose
// content it gives lowercased.
var fakeUnpacker = usersync.UnpackerFunc(func(ctx context.Context, in *usersync.Packed) (*usersync.Unpacked, error) {
	head, _ := in.Peek(8)
	switch {
	case bytes.HasPrefix(head, []byte("UPPER\n")):
		in.Read(make([]byte, 6))
		b, err := io.ReadAll(in)
		return &usersync.Unpacked{Format: "upper", Stream: strings.NewReader(strings.ToLower(string(b)))}, err
	case bytes.HasPrefix(head, []byte("ARCHIVE\n")):
		ra, size, err := in.ReaderAt(1 << 20)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.NewSectionReader(ra, 0, size))
		if err != nil {
			return nil, err
		}
		a := &fakeFiles{}
		rest := strings.TrimPrefix(string(b), "ARCHIVE\n")
		for rest != "" {
			name, after, _ := strings.Cut(rest, "\n")
			content, next, _ := strings.Cut(after, "--\n")
			a.files = append(a.files, [2]string{name, content})
			rest = next
		}
		return &usersync.Unpacked{Format: "archive", Archive: a}, nil
	}
	return nil, nil
})

func TestUnpackerArchiveMembers(t *testing.T) {
	e := newEnv(t)
	e.p.Unpacker = fakeUnpacker
	e.put(t, "bundle", fakeArchive("a.csv", "id,name,email\ne1,Ann,ann@example.com\n", "b.csv", "UPPER\nID,NAME,EMAIL\nE2,BO,BO@EXAMPLE.COM\n"))
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	fr := res.Files[0]
	assert.Equal(t, 2, fr.Records)
	require.Len(t, fr.Members, 2)
	assert.Equal(t, "bundle/a.csv", fr.Members[0].Name)
	assert.Equal(t, "bundle/b.csv", fr.Members[1].Name)
	assert.Equal(t, int64(len("UPPER\nID,NAME,EMAIL\nE2,BO,BO@EXAMPLE.COM\n")), fr.Members[1].Bytes)
	assert.Len(t, e.users(), 2)
}

func TestUnpackerFailures(t *testing.T) {
	for name, tc := range map[string]struct {
		u    usersync.Unpacker
		data string
		want error
		op   string
		file string
	}{
		"UnsafeName":  {fakeUnpacker, fakeArchive("../x.csv", day1), usersync.ErrMemberName, "unpack", "bundle"},
		"DotName":     {fakeUnpacker, fakeArchive(".", day1), usersync.ErrMemberName, "unpack", "bundle"},
		"Duplicate":   {fakeUnpacker, fakeArchive("a.csv", day1, "a.csv", day1), usersync.ErrMemberName, "unpack", "bundle"},
		"EmptyMember": {fakeUnpacker, fakeArchive("a.csv", day1, "b.csv", "id,name,email\n"), usersync.ErrNoRecords, "verify", "bundle/b.csv"},
		"NoMember":    {fakeUnpacker, fakeArchive(), usersync.ErrNoRecords, "verify", "bundle"},
		"NextFails": {usersync.UnpackerFunc(func(_ context.Context, in *usersync.Packed) (*usersync.Unpacked, error) {
			if len(in.Containers) > 0 {
				return nil, nil
			}
			return &usersync.Unpacked{Format: "x", Archive: &fakeFiles{files: [][2]string{{"a.csv", day1}}, err: usersync.ErrIntegrity}}, nil
		}), day1, usersync.ErrIntegrity, "unpack", "bundle"},
		"NestedForever": {usersync.UnpackerFunc(func(context.Context, *usersync.Packed) (*usersync.Unpacked, error) {
			return &usersync.Unpacked{Format: "x", Stream: strings.NewReader(day1)}, nil
		}), day1, usersync.ErrTooLarge, "unpack", "bundle"},
		"Neither": {usersync.UnpackerFunc(func(context.Context, *usersync.Packed) (*usersync.Unpacked, error) {
			return &usersync.Unpacked{Format: "x"}, nil
		}), day1, nil, "unpack", "bundle"},
		"Refused": {usersync.UnpackerFunc(func(context.Context, *usersync.Packed) (*usersync.Unpacked, error) {
			return nil, usersync.ErrTooLarge
		}), day1, usersync.ErrTooLarge, "unpack", "bundle"},
		"StreamFails": {usersync.UnpackerFunc(func(_ context.Context, in *usersync.Packed) (*usersync.Unpacked, error) {
			if len(in.Containers) > 0 {
				return nil, nil
			}
			return &usersync.Unpacked{Format: "x", Stream: io.MultiReader(strings.NewReader(day1), errReader{usersync.ErrIntegrity})}, nil
		}), day1, usersync.ErrIntegrity, "unpack", "bundle"},
		"TooLargeToCopy": {usersync.UnpackerFunc(func(_ context.Context, in *usersync.Packed) (*usersync.Unpacked, error) {
			_, _, err := in.ReaderAt(3)
			return nil, err
		}), day1, usersync.ErrTooLarge, "unpack", "bundle"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.p.Unpacker = tc.u
			e.put(t, "bundle", tc.data)
			res, err := e.p.Run(context.Background())
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			var fe *usersync.FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.op, fe.Op, "%v", err)
			assert.Equal(t, tc.file, fe.File)
			assert.Equal(t, usersync.Failed, res.Status)
			assert.Empty(t, e.users())
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// The Decryptor has one turn along a chain: a sealed stream is decrypted,
// and what it held is unpacked, but not decrypted again.
func TestUnpackerAndDecryptorCompose(t *testing.T) {
	var fake decrypttest.Fake
	sealed := func(s string) string { return string(fake.Seal([]byte(s))) }
	for name, data := range map[string]string{
		"sealed upper":      sealed("UPPER\n" + strings.ToUpper(day1)),
		"sealed archive":    sealed(fakeArchive("a.csv", day1)),
		"archive of sealed": fakeArchive("a.csv", sealed(day1)),
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.p.Unpacker = fakeUnpacker
			e.p.Decryptor = fake
			e.put(t, "bundle", data)
			res, err := e.p.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 3, res.Files[0].Records)
			assert.Len(t, e.users(), 3)
		})
	}
}
