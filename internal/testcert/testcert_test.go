package testcert

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestNew(t *testing.T) {
	a, err := New("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New("b")
	if err != nil {
		t.Fatal(err)
	}
	if a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := a.Leaf.Verify(x509.VerifyOptions{Roots: Pool(a), DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := b.Leaf.Verify(x509.VerifyOptions{Roots: Pool(a), DNSName: "localhost"}); err == nil {
		t.Error("a pool that trusts a trusts b")
	}
	blk, _ := pem.Decode(PEM(a))
	if blk == nil || string(blk.Bytes) != string(a.Certificate[0]) {
		t.Error("PEM does not hold the certificate")
	}
}
