package redisdump

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"
)

// PasswordEnv is where Main reads the password from: redis-cli's own
// variable. The password is never an argument.
const PasswordEnv = "REDISCLI_AUTH"

// Main is the stash binary's hidden "redis" command, which backup-redis
// and restore-redis run as their dump and client programs:
//
//	stash redis --host H [--port P] [--user U] [--tls [--cacert FILE]] dump|load|ping
//
// dump writes the server's keys to stdout, load restores stdin into an
// empty server, ping logs in and runs PING. The password is $REDISCLI_AUTH.
// It returns the exit status: 0, 1 for a failure (said on stderr), 2 for a
// usage error.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("stash redis", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "", "the server's host name or address")
	port := fs.Int("port", 6379, "the server's port")
	user := fs.String("user", "default", "the ACL user to log in as (the password is $"+PasswordEnv+")")
	useTLS := fs.Bool("tls", false, "connect with TLS")
	caFile := fs.String("cacert", "", "with --tls: a PEM file of the CAs to trust instead of the system's")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *host == "" {
		fmt.Fprintln(stderr, "usage: stash redis --host HOST [--port PORT] [--user USER] [--tls [--cacert FILE]] dump|load|ping")
		return 2
	}
	opts := &redis.Options{
		Addr:     net.JoinHostPort(*host, strconv.Itoa(*port)),
		Username: *user,
		Password: os.Getenv(PasswordEnv),
		// RESP2 and no CLIENT SETINFO: what every server since Redis 6
		// and an ACL user restricted to the commands we run accept.
		Protocol:        2,
		DisableIdentity: true,
		// RESTORE is not idempotent: a retried one would find its key.
		MaxRetries:   -1,
		DialTimeout:  10 * time.Second,
		ReadTimeout:  5 * time.Minute,
		WriteTimeout: 5 * time.Minute,
		PoolSize:     2,
	}
	if *useTLS {
		cfg := &tls.Config{ServerName: *host, MinVersion: tls.VersionTLS12}
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				fmt.Fprintf(stderr, "--cacert: %v\n", err)
				return 2
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				fmt.Fprintf(stderr, "--cacert %s holds no PEM certificate\n", *caFile)
				return 2
			}
		}
		opts.TLSConfig = cfg
	}
	// The error says what the pool's own log line would: no second copy.
	redis.SetLogger(silent{})
	c := redis.NewClient(opts)
	defer c.Close()
	tlsHint := !*useTLS
	var err error
	switch mode := fs.Arg(0); mode {
	case "ping":
		err = c.Ping(ctx).Err()
	case "dump":
		var st Stats
		st, err = Dump(ctx, c, stdout)
		if err == nil {
			fmt.Fprintf(stderr, "dumped %d keys of databases %v\n", st.Keys, st.Databases)
		}
	case "load":
		var st Stats
		st, err = Load(ctx, c, stdin)
		if err == nil {
			fmt.Fprintf(stderr, "restored %d keys into databases %v\n", st.Keys, st.Databases)
		}
	default:
		fmt.Fprintf(stderr, "unknown mode %q: want dump, load or ping\n", mode)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "redis at %s: %v\n", opts.Addr, describe(err, tlsHint))
		return 1
	}
	return 0
}

// describe adds what to do to the errors a user can act on. tlsHint: the
// connection was without TLS.
func describe(err error, tlsHint bool) error {
	if tlsHint && strings.Contains(err.Error(), "connection reset by peer") {
		return fmt.Errorf("%w (if the server listens with TLS only, set --tls: the Task param redisArgs)", err)
	}
	var re redis.Error
	if errors.As(err, &re) {
		switch msg := re.Error(); {
		case strings.HasPrefix(msg, "WRONGPASS"):
			return fmt.Errorf("%w: check the user and password of the AppBinding's Secret", err)
		case strings.HasPrefix(msg, "NOPERM"):
			return fmt.Errorf("%w: the ACL user needs the commands PING, INFO, SELECT, SCAN, DUMP and PEXPIRETIME (before Redis 7: PTTL and TIME) to back up, and PING, INFO, SELECT and RESTORE to restore", err)
		}
	}
	return err
}

// silent is a go-redis logger that drops everything.
type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}
