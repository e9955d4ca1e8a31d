package dirsource_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source/dirsource"
	"github.com/usersync/usersync/source/sourcetest"
)

// harness puts files straight into a temporary folder.
type harness struct{ dir string }

func (h harness) MakeSource(context.Context) (usersync.Source, error) {
	return dirsource.New(h.dir, nil)
}

func (h harness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return writeFile(h.dir, name, data, modTime)
}

func (harness) Close() {}

func TestConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (sourcetest.Harness, error) {
		return harness{dir: t.TempDir()}, nil
	})
}

func writeFile(dir, name string, data []byte, modTime time.Time) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	return os.Chtimes(p, modTime, modTime)
}

func newSource(t *testing.T, dir string, opts *dirsource.Options) *dirsource.Source {
	t.Helper()
	src, err := dirsource.New(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	return src
}

func names(t *testing.T, src usersync.Source) []string {
	t.Helper()
	files, err := src.List(t.Context())
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}

func TestSymlinkOutsideCannotBeRead(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("secret"), 0o600))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte("ok"), 0o600))
	links := map[string]string{
		"abs.csv":      filepath.Join(outside, "secret.csv"),
		"rel.csv":      filepath.Join("..", filepath.Base(outside), "secret.csv"),
		"outside":      outside,
		"inside.csv":   "users.csv",
		"dangling.csv": "missing.csv",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
	}
	src := newSource(t, dir, nil)

	assert.Equal(t, []string{"inside.csv", "users.csv"}, names(t, src),
		"List offers links that stay inside, and nothing else")
	for _, name := range []string{"abs.csv", "rel.csv", "outside/secret.csv", "dangling.csv"} {
		rc, err := src.Open(t.Context(), name)
		if err == nil {
			rc.Close()
		}
		assert.Error(t, err, "Open(%q) must not read outside the folder", name)
	}
	_, err := src.Open(t.Context(), "inside.csv")
	assert.NoError(t, err, "a link that stays inside opens")
}

func TestHiddenFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".users.csv.part", "users.csv"} {
		require.NoError(t, writeFile(dir, name, []byte("x"), time.Now()))
	}
	assert.Equal(t, []string{"users.csv"}, names(t, newSource(t, dir, nil)))
	assert.Equal(t, []string{".users.csv.part", "users.csv"},
		names(t, newSource(t, dir, &dirsource.Options{IncludeHidden: true})))
}

func TestNewFails(t *testing.T) {
	dir := t.TempDir()
	_, err := dirsource.New(filepath.Join(dir, "missing"), nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	file := filepath.Join(dir, "users.csv")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = dirsource.New(file, nil)
	assert.ErrorContains(t, err, "not a folder")
}

func TestOpenRejectsNameWithPathError(t *testing.T) {
	src := newSource(t, t.TempDir(), nil)
	_, err := src.Open(t.Context(), "../etc/passwd")
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "open", pe.Op)
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestRemoveKeepsFolders(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "archive"), 0o755))
	src := newSource(t, dir, nil)
	assert.Error(t, src.Remove(t.Context(), "archive"))
	assert.DirExists(t, filepath.Join(dir, "archive"))
}

// TestNewMissingFolderSaysItOnce: the folder is named once, and the error
// is still fs.ErrNotExist.
func TestNewMissingFolderSaysItOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := dirsource.New(dir, nil)
	require.Error(t, err)
	assert.Equal(t, "dirsource: folder "+dir+": no such file or directory", err.Error())
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
