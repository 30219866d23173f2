// Package redisdump dumps a running Redis server's keys into a stream and
// loads that stream into another running server, without a restart and
// without access to the server's files: the backup-redis and restore-redis
// Functions run it as the stash binary's hidden "redis" command.
//
// The stream is Redis's own protocol (RESP): one command per key, RESTORE
// with the key's DUMP payload (every data type, binary-safe) and its expiry
// as an absolute time (ABSTTL), after a SELECT of its database. So a dump
// is also loadable by hand: `redis-cli --pipe < dumpfile.resp`. A header
// and a trailer (ECHO commands) mark it as ours and complete: a stream cut
// short is refused before its last key is missing unnoticed.
package redisdump

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The header and trailer of a dump: ECHO commands, so that redis-cli --pipe
// accepts the stream as it is.
const (
	dumpHeader    = "stash redis dump 1"
	trailerPrefix = "stash redis dump end, keys: "
)

// writeCommand writes args as one RESP command: an array of bulk strings.
func writeCommand(w *bufio.Writer, args ...[]byte) error {
	w.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		w.WriteString("$" + strconv.Itoa(len(a)) + "\r\n")
		w.Write(a)
		w.WriteString("\r\n")
	}
	// bufio.Writer keeps its first error: checking once is enough.
	_, err := w.Write(nil)
	return err
}

// maxBulk bounds one argument of a command read from a stream: Redis's own
// limit for a bulk string (proto-max-bulk-len, 512 MiB).
const maxBulk = 512 << 20

// readCommand reads one RESP command (an array of bulk strings) from r. At
// the end of the stream it returns io.EOF; a stream that ends inside a
// command returns io.ErrUnexpectedEOF.
func readCommand(r *bufio.Reader) ([][]byte, error) {
	line, err := readLine(r)
	if err == io.EOF && line == "" {
		return nil, io.EOF
	}
	if err != nil {
		return nil, unexpected(err)
	}
	n, err := parseLength(line, '*')
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 16 {
		return nil, fmt.Errorf("a command of %d arguments: not a dump of stash's", n)
	}
	args := make([][]byte, n)
	for i := range args {
		line, err := readLine(r)
		if err != nil {
			return nil, unexpected(err)
		}
		size, err := parseLength(line, '$')
		if err != nil {
			return nil, err
		}
		if size < 0 || size > maxBulk {
			return nil, fmt.Errorf("an argument of %d bytes: not a dump of stash's", size)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, unexpected(err)
		}
		if buf[size] != '\r' || buf[size+1] != '\n' {
			return nil, errors.New("an argument not followed by CRLF: not a dump of stash's")
		}
		args[i] = buf[:size]
	}
	return args, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine reads a line ending in CRLF, without it.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return line, err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", errors.New("a line not ending in CRLF: not a dump of stash's")
	}
	return line[:len(line)-2], nil
}

// parseLength parses a RESP length line such as "*3" or "$12".
func parseLength(line string, kind byte) (int, error) {
	if len(line) < 2 || line[0] != kind {
		return 0, fmt.Errorf("%q where a %q length was expected: not a dump of stash's", truncate(line, 20), kind)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil {
		return 0, fmt.Errorf("%q is not a length: not a dump of stash's", truncate(line, 20))
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
