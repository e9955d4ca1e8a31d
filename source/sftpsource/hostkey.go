package sftpsource

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys verifies servers' keys, by known_hosts, pinned fingerprints, or
// not at all (InsecureIgnoreHostKey).
type hostKeys struct {
	file     string
	db       ssh.HostKeyCallback // nil without a known_hosts file
	pins     []string
	insecure bool
}

func newHostKeys(c *Config) (*hostKeys, error) {
	h := &hostKeys{file: c.KnownHostsFile, pins: c.HostKeyFingerprints, insecure: c.InsecureIgnoreHostKey}
	for _, fp := range h.pins {
		if !validFingerprint(fp) {
			return nil, &ConfigError{Field: "HostKeyFingerprints", Err: fmt.Errorf("%q is not a SHA256 fingerprint such as ssh-keygen -l prints (SHA256:...)", fp)}
		}
	}
	if h.file != "" {
		db, err := knownhosts.New(h.file)
		if err != nil {
			return nil, &ConfigError{Field: "KnownHostsFile", Err: err}
		}
		h.db = db
	}
	if h.db == nil && len(h.pins) == 0 && !h.insecure {
		return nil, &ConfigError{Field: "KnownHostsFile", Err: errors.New("no way to verify the server: set KnownHostsFile or HostKeyFingerprints")}
	}
	return h, nil
}

// validFingerprint reports whether fp looks like ssh.FingerprintSHA256's
// output: "SHA256:" and 43 characters of unpadded base64.
func validFingerprint(fp string) bool {
	b64, ok := strings.CutPrefix(fp, "SHA256:")
	if !ok {
		return false
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	return err == nil && len(b) == 32
}

// hostKeyPreference orders the plain host key algorithms a client asks
// for, most preferred first.
var hostKeyPreference = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
}

// algorithmsFor returns the host key algorithms that produce keys of the
// given types, in order of preference.
func algorithmsFor(types []string) []string {
	var algos []string
	for _, a := range hostKeyPreference {
		t := a
		if a == ssh.KeyAlgoRSASHA256 || a == ssh.KeyAlgoRSASHA512 {
			t = ssh.KeyAlgoRSA
		}
		if slices.Contains(types, t) {
			algos = append(algos, a)
		}
	}
	return algos
}

// algorithms returns the host key algorithms to ask a server for: those
// of the key types known_hosts records for it, so that a server with
// several keys presents one that can be checked (golang/go#11722); nil,
// the defaults, when nothing is known. A pinned fingerprint does not say
// its key's type, so with pins alone every type is asked for but those in
// excluded, already seen not to match; probing is then true, and an
// empty list means every type was tried.
func (h *hostKeys) algorithms(host string, remote net.Addr, excluded []string) (algos []string, probing bool) {
	if h.db != nil {
		if types := h.knownTypes(host, remote); len(types) > 0 {
			return algorithmsFor(types), false
		}
	}
	if len(h.pins) == 0 {
		return nil, false
	}
	var types []string
	for _, a := range hostKeyPreference {
		if a != ssh.KeyAlgoRSASHA256 && a != ssh.KeyAlgoRSASHA512 && !slices.Contains(excluded, a) {
			types = append(types, a)
		}
	}
	return append([]string{}, algorithmsFor(types)...), true
}

// knownTypes asks known_hosts which key types it records for the host, by
// checking a key it cannot hold: the mismatch lists the known keys.
func (h *hostKeys) knownTypes(host string, remote net.Addr) []string {
	_, priv, _ := ed25519.GenerateKey(nil)
	probe, _ := ssh.NewPublicKey(priv.Public())
	var ke *knownhosts.KeyError
	if !errors.As(h.db(host, remote, probe), &ke) {
		return nil
	}
	var types []string
	for _, k := range ke.Want {
		if t := k.Key.Type(); !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return types
}

// check verifies the key a server presented; seen records it.
func (h *hostKeys) check(host string, remote net.Addr, key ssh.PublicKey) error {
	fp := ssh.FingerprintSHA256(key)
	if slices.Contains(h.pins, fp) {
		return nil
	}
	if h.db != nil {
		err := h.db(host, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return &HostKeyChangedError{Host: host, KeyType: key.Type(), Fingerprint: fp, Revoked: true}
		case errors.As(err, &ke) && len(ke.Want) == 0 && len(h.pins) == 0:
			return &UnknownHostError{Host: host, KeyType: key.Type(), Fingerprint: fp, KnownHostsFile: h.file}
		case errors.As(err, &ke):
			known := slices.Clone(h.pins)
			for _, k := range ke.Want {
				known = append(known, k.Key.Type()+" "+ssh.FingerprintSHA256(k.Key))
			}
			return &HostKeyChangedError{Host: host, KeyType: key.Type(), Fingerprint: fp, Known: known}
		default:
			return err
		}
	}
	if h.insecure && len(h.pins) == 0 {
		return nil
	}
	return &HostKeyChangedError{Host: host, KeyType: key.Type(), Fingerprint: fp, Known: h.pins}
}
