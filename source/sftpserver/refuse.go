package sftpserver

import (
	"bufio"
	"encoding/binary"
	"net"
	"strings"
	"time"
)

// maxRefusing bounds the refused connections told why at once; past it, a
// refused connection is closed without a word, so that a flood of them
// costs the server bounded goroutines.
const maxRefusing = 64

// refuseTimeout bounds how long a refused connection is given to say its
// version and take the reason.
const refuseTimeout = 5 * time.Second

// The SSH disconnect reason codes of RFC 4253, section 11.1, that a refusal
// uses.
const (
	disconnectByApplication      = 11
	disconnectTooManyConnections = 12
)

// A refusal is why a connection is refused, as the client is told it.
type refusal struct {
	reason string // for the audit log: "too many connections from this address"
	code   uint32
	text   string // for the client
}

// refuse tells a client that its connection is refused, and why, with an
// SSH disconnect message sent after the version exchange and before key
// exchange, as RFC 4253 allows: OpenSSH prints "Received disconnect from
// ...: too many connections from this address, try again later", and
// golang.org/x/crypto/ssh returns it as the handshake's error, rather than
// a bare "handshake failed: EOF". It then closes nc.
func (s *Server) refuse(nc net.Conn, r refusal) {
	select {
	case s.refusing <- struct{}{}:
	default:
		nc.Close() // too many at once: no word
		return
	}
	go func() {
		defer func() { <-s.refusing }()
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(refuseTimeout))
		if _, err := nc.Write([]byte(s.opts.ServerVersion + "\r\n")); err != nil {
			return
		}
		// The client's version line; lines before it are allowed.
		br := bufio.NewReaderSize(nc, 512)
		for range 10 {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(string(line), "SSH-") {
				break
			}
		}
		nc.Write(disconnectPacket(r.code, r.text))
	}()
}

// disconnectPacket is an unencrypted SSH_MSG_DISCONNECT packet (RFC 4253,
// sections 6 and 11.1): no MAC, padded to a multiple of eight bytes.
func disconnectPacket(code uint32, text string) []byte {
	payload := []byte{1} // SSH_MSG_DISCONNECT
	payload = binary.BigEndian.AppendUint32(payload, code)
	payload = binary.BigEndian.AppendUint32(payload, uint32(len(text)))
	payload = append(payload, text...)
	payload = binary.BigEndian.AppendUint32(payload, 0) // language tag
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	p := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	p = append(p, byte(pad))
	p = append(p, payload...)
	return append(p, make([]byte, pad)...)
}
