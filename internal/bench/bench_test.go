package bench

import (
	"os"
	"runtime"
	"testing"
)

func TestPrepareWith(t *testing.T) {
	dir := t.TempDir()
	s, err := PrepareWith(dir, 1000, &PrepareOptions{Changed: 0.04, Reuse: true})
	if err != nil {
		t.Fatal(err)
	}
	if created, gone := s.Expect(); created != 10 || gone != 10 {
		t.Errorf("Expect() = %d, %d; want 10, 10", created, gone)
	}
	for _, p := range []string{s.Today, s.Yesterday} {
		n, err := PlainCSV(p)
		if err != nil || n != 1001 {
			t.Errorf("PlainCSV(%s) = %d, %v; want 1001 records", p, n, err)
		}
	}
	// A second call with Reuse keeps the files; with other options it
	// writes them again.
	if err := os.WriteFile(s.Today, []byte("marked\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareWith(dir, 1000, &PrepareOptions{Changed: 0.04, Reuse: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(s.Today); string(b) != "marked\n" {
		t.Error("Reuse wrote the files again")
	}
	if _, err := PrepareWith(dir, 1000, &PrepareOptions{Changed: 0.02, Reuse: true}); err != nil {
		t.Fatal(err)
	}
	if n, err := PlainCSV(s.Today); err != nil || n != 1001 {
		t.Errorf("other options did not write today's file again: %d records, %v", n, err)
	}
}

func TestStartRSS(t *testing.T) {
	stop := StartRSS()
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	r := stop()
	runtime.KeepAlive(b)
	if runtime.GOOS != "linux" {
		t.Skipf("peak RSS from %s", r.Source)
	}
	if r.Source != "VmHWM" {
		t.Errorf("Source = %q, want VmHWM", r.Source)
	}
	if r.Start == 0 || r.Peak < r.Start+60<<20 {
		t.Errorf("RSS = %+v: want a peak at least 60 MiB over the start", r)
	}
}
