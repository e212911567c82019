// A classic TLS 1.3 peer on Go's crypto/tls (standard library only), for the
// fallback matrix of test_classic_matrix.py.
//
//	tls_peer client HOST:PORT CA.pem SERVER_NAME MESSAGE
//	    one JSON line: version, cipher, verified (chain built to CA.pem), reply or error
//	tls_peer server CERT.pem KEY.pem
//	    listens on 127.0.0.1, prints the port, then one JSON line per connection;
//	    answers "go:" + the first read
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

type report struct {
	Version  string `json:"version,omitempty"`
	Cipher   string `json:"cipher,omitempty"`
	Verified bool   `json:"verified"`
	Reply    string `json:"reply,omitempty"`
	Error    string `json:"error,omitempty"`
}

func versionName(v uint16) string {
	if v == tls.VersionTLS13 {
		return "TLS 1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

func emit(r report) {
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func client(addr, caFile, name, message string) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		emit(report{Error: err.Error()})
		return
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS13}
	dialer := &net.Dialer{Timeout: 20 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, cfg)
	if err != nil {
		emit(report{Error: err.Error()})
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	st := conn.ConnectionState()
	r := report{Version: versionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite),
		Verified: len(st.VerifiedChains) > 0}
	if _, err := io.WriteString(conn, message); err != nil {
		r.Error = err.Error()
		emit(r)
		return
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if n == 0 && err != nil {
		r.Error = err.Error()
	}
	r.Reply = string(buf[:n])
	emit(r)
}

func server(certFile, keyFile string) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	for {
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		conn := raw.(*tls.Conn)
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		if err := conn.Handshake(); err != nil {
			emit(report{Error: err.Error()})
			conn.Close()
			continue
		}
		st := conn.ConnectionState()
		r := report{Version: versionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite)}
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil && n == 0 {
			r.Error = err.Error()
		} else {
			r.Reply = string(buf[:n])
			conn.Write(append([]byte("go:"), buf[:n]...))
		}
		emit(r)
		conn.Close()
	}
}

func main() {
	if len(os.Args) == 6 && os.Args[1] == "client" {
		client(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "server" {
		server(os.Args[2], os.Args[3])
		return
	}
	fmt.Fprintln(os.Stderr, "usage: tls_peer client HOST:PORT CA.pem NAME MESSAGE | server CERT KEY")
	os.Exit(2)
}
