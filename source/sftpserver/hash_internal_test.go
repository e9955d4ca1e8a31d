package sftpserver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/sftp"
	"pgregory.net/rapid"
)

// TestRunningHashMatchesTheFile writes pieces in any order, overlapping,
// leaving holes, rewriting, truncating: the upload's SHA-256 is always the
// file's.
func TestRunningHashMatchesTheFile(t *testing.T) {
	dir := t.TempDir()
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(n)))
		if err != nil {
			rt.Fatal(err)
		}
		defer f.Close()
		c := &conn{ts: &tenantState{uploads: map[string]bool{}}}
		u := &upload{c: c, f: f, replaces: -1, quota: Quota{-1, -1, -1}, h: sha256.New()}
		var model []byte
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for range steps {
			if rapid.IntRange(0, 9).Draw(rt, "truncate?") == 0 {
				size := rapid.IntRange(0, 3000).Draw(rt, "size")
				if err := u.setstat(sftpAttrSize(int64(size))); err != nil {
					rt.Fatal(err)
				}
				model = resize(model, size)
				continue
			}
			off := rapid.IntRange(0, 2048).Draw(rt, "off")
			data := rapid.SliceOfN(rapid.Byte(), 1, 1024).Draw(rt, "data")
			if _, err := u.WriteAt(data, int64(off)); err != nil {
				rt.Fatal(err)
			}
			if end := off + len(data); end > len(model) {
				model = resize(model, end)
			}
			copy(model[off:], data)
		}
		got, err := u.sum()
		if err != nil {
			rt.Fatal(err)
		}
		want := sha256.Sum256(model)
		if got != hex.EncodeToString(want[:]) {
			rt.Fatalf("hash %s, want %s (size %d)", got, hex.EncodeToString(want[:]), len(model))
		}
	})
}

func resize(b []byte, n int) []byte {
	if n <= len(b) {
		return b[:n]
	}
	return append(b, make([]byte, n-len(b))...)
}

// sftpAttrSize is the setstat of a size that ftruncate sends.
func sftpAttrSize(size int64) (sftp.FileAttrFlags, *sftp.FileStat) {
	return sftp.FileAttrFlags{Size: true}, &sftp.FileStat{Size: uint64(size)}
}
