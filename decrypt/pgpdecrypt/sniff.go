package pgpdecrypt

import "bytes"

// sniffLen is how many leading bytes tell an armored file from a binary
// one: room for a byte order mark, blank lines and the armor header line.
const sniffLen = 128

const (
	armorStart   = "-----BEGIN PGP "
	messageStart = "-----BEGIN PGP MESSAGE-----"
	bom          = "\uFEFF"
)

// IsMessage reports whether head, the first bytes of a file, starts an
// OpenPGP message, armored or binary: encrypted, signed or only stored.
// It suits decrypt.ByContent, which shows it up to 512 bytes:
//
//	decrypt.ByContent(d, pgpdecrypt.IsMessage)
//
// It looks at the first packet's header and first byte, or at the armor
// header line, so a CSV or text file is not mistaken for a message.
func IsMessage(head []byte) bool {
	return armorOffset(head, messageStart) >= 0 || binaryMessage(head)
}

// isArmored reports whether head starts with an OpenPGP armor header.
func isArmored(head []byte) bool { return armorOffset(head, armorStart) >= 0 }

// armorOffset returns where the armor header line starting with prefix
// begins in head, after a byte order mark and blank space that Windows
// editors and mail programs leave in front of it, or -1 if head does not
// start with one.
func armorOffset(head []byte, prefix string) int {
	rest := bytes.TrimPrefix(head, []byte(bom))
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if !bytes.HasPrefix(rest, []byte(prefix)) {
		return -1
	}
	return len(head) - len(rest)
}

// binaryMessage reports whether head starts with the header of a packet
// that may open an OpenPGP message, followed by a first body byte that
// packet allows.
func binaryMessage(head []byte) bool {
	if len(head) < 2 || head[0]&0x80 == 0 {
		return false
	}
	var tag byte
	var hlen int
	if head[0]&0x40 != 0 { // new format: the tag, then 1, 2 or 5 length bytes
		tag = head[0] & 0x3f
		switch l := head[1]; {
		case l < 192, l >= 224 && l < 255: // one byte, or a partial length
			hlen = 2
		case l < 224:
			hlen = 3
		default:
			hlen = 6
		}
	} else { // old format: the tag and 1, 2, 4 or no length bytes
		tag = head[0] >> 2 & 0x0f
		hlen = 1 + [4]int{1, 2, 4, 0}[head[0]&0x03]
	}
	if len(head) <= hlen {
		return false
	}
	return firstByteFits(tag, head[hlen:])
}

// firstByteFits reports whether body may start a packet of type tag that
// opens a message; mostly, whether its version number is one in use.
func firstByteFits(tag byte, body []byte) bool {
	v := body[0]
	switch tag {
	case 1: // public-key encrypted session key
		return v == 3 || v == 6
	case 2: // signature, in front of the signed data
		return v >= 3 && v <= 6
	case 3: // symmetric-key encrypted session key
		return v >= 4 && v <= 6
	case 4: // one-pass signature
		return v == 3 || v == 6
	case 8: // compressed data: the algorithm
		return v <= 3
	case 9: // encrypted data without integrity protection, to be refused
		return true
	case 10: // marker
		return bytes.HasPrefix(body, []byte("PGP"))
	case 11: // literal data: the format
		return v == 'b' || v == 't' || v == 'u' || v == 'm'
	case 18: // encrypted and integrity protected data
		return v == 1 || v == 2
	case 20: // AEAD encrypted data, as GnuPG 2.4 writes it
		return v == 1
	}
	return false
}
