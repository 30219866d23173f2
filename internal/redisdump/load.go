package redisdump

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrNotEmpty is returned by Load for a server that holds keys already.
var ErrNotEmpty = errors.New("the server holds keys")

// Load restores a dump of Dump's from r into the server c connects to,
// which must hold no key: restoring into a server in use would mix two
// data sets, and RESTORE refuses a key that exists anyway, halfway. Only
// SELECT and RESTORE are run: a stream with any other command is refused,
// so that a tampered dump cannot run FLUSHALL or CONFIG. A stream without
// the trailer of a complete dump is refused at its end.
func Load(ctx context.Context, c *redis.Client, r io.Reader) (Stats, error) {
	conn := c.Conn()
	defer conn.Close()
	counts, err := keyCounts(ctx, conn)
	if err != nil {
		return Stats{}, err
	}
	if len(counts) > 0 {
		var held []string
		for _, db := range slices.Sorted(maps.Keys(counts)) {
			held = append(held, fmt.Sprintf("database %d: %d", db, counts[db]))
		}
		return Stats{}, fmt.Errorf("%w (%s): restore into an empty server (FLUSHALL it first if its keys may go)", ErrNotEmpty, strings.Join(held, ", "))
	}
	in := bufio.NewReaderSize(r, 1<<16)
	first, err := readCommand(in)
	if err != nil || len(first) != 2 || !strings.EqualFold(string(first[0]), "ECHO") || string(first[1]) != dumpHeader {
		return Stats{}, errors.New("the input is not a Redis dump of stash's: it does not start with its header")
	}
	l := loader{conn: conn, db: 0}
	for {
		cmd, err := readCommand(in)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return l.st, fmt.Errorf("the dump ends after %d keys without its trailer: it is incomplete, and the server holds only those keys", l.st.Keys+len(l.pending))
		}
		if err != nil {
			return l.st, fmt.Errorf("after %d keys: %w", l.st.Keys+len(l.pending), err)
		}
		name := strings.ToUpper(string(cmd[0]))
		switch {
		case name == "ECHO" && len(cmd) == 2 && bytes.HasPrefix(cmd[1], []byte(trailerPrefix)):
			if err := l.flush(ctx); err != nil {
				return l.st, err
			}
			want, err := strconv.Atoi(string(cmd[1][len(trailerPrefix):]))
			if err != nil || want != l.st.Keys {
				return l.st, fmt.Errorf("the dump's trailer says %q, but it held %d keys", cmd[1], l.st.Keys)
			}
			if _, err := readCommand(in); err != io.EOF {
				return l.st, errors.New("the dump goes on after its trailer: it is not one of stash's")
			}
			return l.st, nil
		case name == "SELECT" && len(cmd) == 2:
			db, err := strconv.Atoi(string(cmd[1]))
			if err != nil {
				return l.st, fmt.Errorf("SELECT %q: not a database number", cmd[1])
			}
			if err := l.flush(ctx); err != nil {
				return l.st, err
			}
			if err := conn.Select(ctx, db).Err(); err != nil {
				return l.st, fmt.Errorf("SELECT %d: %w (does the server have that many databases?)", db, err)
			}
			l.db = db
			l.st.Databases = append(l.st.Databases, db)
		case name == "RESTORE" && (len(cmd) == 4 || len(cmd) == 5):
			l.pending = append(l.pending, cmd)
			if len(l.pending) >= batch {
				if err := l.flush(ctx); err != nil {
					return l.st, err
				}
			}
		default:
			return l.st, fmt.Errorf("the dump holds a %s command, which a dump of stash's never does: refusing to run it", truncate(name, 20))
		}
	}
}

// loader runs a dump's RESTORE commands a batch at a time.
type loader struct {
	conn    *redis.Conn
	db      int
	pending [][][]byte
	st      Stats
}

func (l *loader) flush(ctx context.Context) error {
	if len(l.pending) == 0 {
		return nil
	}
	cmds := make([]*redis.Cmd, len(l.pending))
	_, _ = l.conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range l.pending {
			args := make([]any, len(c))
			for j, a := range c {
				args[j] = a
			}
			cmds[i] = p.Do(ctx, args...)
		}
		return nil
	})
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return fmt.Errorf("RESTORE of key %q in database %d: %w (%d keys restored before it)",
				truncate(string(l.pending[i][1]), 64), l.db, err, l.st.Keys+i)
		}
	}
	l.st.Keys += len(l.pending)
	l.pending = l.pending[:0]
	return nil
}
