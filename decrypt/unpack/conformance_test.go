package unpack_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/decrypt/unpack/unpacktest"
)

func TestConformance(t *testing.T) {
	u := unpack.New(nil)
	t.Run("gzip", func(t *testing.T) {
		unpacktest.RunConformanceTests(t, u, func(files []unpacktest.File) ([]byte, error) {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			if _, err := w.Write(files[0].Data); err != nil {
				return nil, err
			}
			err := w.Close()
			return buf.Bytes(), err
		}, nil)
	})
	t.Run("zip", func(t *testing.T) {
		unpacktest.RunConformanceTests(t, u, func(files []unpacktest.File) ([]byte, error) {
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			for _, f := range files {
				fw, err := w.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
				if err != nil {
					return nil, err
				}
				if _, err := fw.Write(f.Data); err != nil {
					return nil, err
				}
			}
			err := w.Close()
			return buf.Bytes(), err
		}, &unpacktest.Options{Archive: true})
	})
}
