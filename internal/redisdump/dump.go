package redisdump

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// batch is how many keys one round trip dumps or loads: enough to hide the
// latency, little enough that a batch's payloads stay small.
const batch = 500

// Stats are what a dump wrote or a load restored.
type Stats struct {
	Keys      int
	Databases []int // the numbers of the databases that held keys
}

// keyspaceLine is a database line of INFO keyspace: "db0:keys=3,expires=1,...".
var keyspaceLine = regexp.MustCompile(`(?m)^db(\d+):keys=(\d+)`)

// keyCounts are the databases that hold keys, with how many, from INFO
// keyspace.
func keyCounts(ctx context.Context, c redis.Cmdable) (map[int]int, error) {
	info, err := c.Info(ctx, "keyspace").Result()
	if err != nil {
		return nil, fmt.Errorf("INFO keyspace: %w", err)
	}
	counts := map[int]int{}
	for _, m := range keyspaceLine.FindAllStringSubmatch(info, -1) {
		db, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if n > 0 {
			counts[db] = n
		}
	}
	return counts, nil
}

// Dump writes every key of every database of the server c connects to into
// out, as RESTORE commands. Keys are read with SCAN, a batch at a time, so
// the dump is not one point in time: a key written meanwhile may be in it
// with its old value or missing, one deleted meanwhile is left out. For one
// point in time, dump a replica whose replication is paused, or stop the
// writers.
func Dump(ctx context.Context, c *redis.Client, out io.Writer) (Stats, error) {
	return dump(ctx, c, out, !hasExpireTime(ctx, c))
}

// dump is Dump, with the expiries read as PTTL and TIME if legacyExpiry.
func dump(ctx context.Context, c *redis.Client, out io.Writer, legacyExpiry bool) (Stats, error) {
	counts, err := keyCounts(ctx, c)
	if err != nil {
		return Stats{}, err
	}
	w := bufio.NewWriterSize(out, 1<<16)
	if err := writeCommand(w, []byte("ECHO"), []byte(dumpHeader)); err != nil {
		return Stats{}, err
	}
	var st Stats
	for _, db := range slices.Sorted(maps.Keys(counts)) {
		n, err := dumpDatabase(ctx, c, db, w, legacyExpiry)
		if err != nil {
			return st, fmt.Errorf("database %d: %w", db, err)
		}
		st.Keys += n
		st.Databases = append(st.Databases, db)
	}
	if err := writeCommand(w, []byte("ECHO"), []byte(trailerPrefix+strconv.Itoa(st.Keys))); err != nil {
		return st, err
	}
	return st, w.Flush()
}

// dumpDatabase writes SELECT db and a RESTORE per key of it.
func dumpDatabase(ctx context.Context, c *redis.Client, db int, w *bufio.Writer, legacyExpiry bool) (int, error) {
	conn := c.Conn()
	defer conn.Close()
	if err := conn.Select(ctx, db).Err(); err != nil {
		return 0, fmt.Errorf("SELECT: %w", err)
	}
	if err := writeCommand(w, []byte("SELECT"), []byte(strconv.Itoa(db))); err != nil {
		return 0, err
	}
	keys := 0
	var cursor uint64
	for {
		names, next, err := conn.Scan(ctx, cursor, "", batch).Result()
		if err != nil {
			return keys, fmt.Errorf("SCAN: %w", err)
		}
		n, err := dumpKeys(ctx, conn, names, w, legacyExpiry)
		keys += n
		if err != nil {
			return keys, err
		}
		if next == 0 {
			return keys, nil
		}
		cursor = next
	}
}

// dumpKeys writes a RESTORE for each of names that still exists, with its
// expiry as an absolute time: the server's PEXPIRETIME (Redis 7 and later),
// or its PTTL added to its clock (TIME) where the server has no
// PEXPIRETIME, which may be a millisecond off.
func dumpKeys(ctx context.Context, conn *redis.Conn, names []string, w *bufio.Writer, legacyExpiry bool) (int, error) {
	if len(names) == 0 {
		return 0, nil
	}
	var now *redis.TimeCmd
	expiries := make([]*redis.Cmd, len(names))
	payloads := make([]*redis.Cmd, len(names))
	_, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		if legacyExpiry {
			now = p.Time(ctx)
		}
		for i, k := range names {
			if legacyExpiry {
				expiries[i] = p.Do(ctx, "PTTL", k)
			} else {
				expiries[i] = p.Do(ctx, "PEXPIRETIME", k)
			}
			payloads[i] = p.Do(ctx, "DUMP", k)
		}
		return nil
	})
	// A key deleted since SCAN answers DUMP with nil: not an error.
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("DUMP: %w", err)
	}
	written := 0
	for i, k := range names {
		at, err := expiries[i].Int64()
		if err != nil {
			return written, fmt.Errorf("the expiry of key %q: %w", truncate(k, 64), err)
		}
		payload, err := payloads[i].Text()
		if errors.Is(err, redis.Nil) || at == -2 {
			continue // gone since SCAN
		}
		if err != nil {
			return written, fmt.Errorf("DUMP of key %q: %w", truncate(k, 64), err)
		}
		if legacyExpiry && at >= 0 {
			at += now.Val().UnixMilli()
		}
		args := [][]byte{[]byte("RESTORE"), []byte(k), []byte("0"), []byte(payload)}
		if at >= 0 {
			args[2] = []byte(strconv.FormatInt(at, 10))
			args = append(args, []byte("ABSTTL"))
		}
		if err := writeCommand(w, args...); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}

// hasExpireTime reports whether the server knows PEXPIRETIME (Redis 7 and
// later), asked of a key that does not exist. Any answer but "unknown
// command" (an ACL user may not touch that key) means it does.
func hasExpireTime(ctx context.Context, c *redis.Client) bool {
	err := c.Do(ctx, "PEXPIRETIME", "stash:redisdump:probe").Err()
	return err == nil || !strings.Contains(strings.ToLower(err.Error()), "unknown command")
}
