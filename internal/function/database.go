package function

// What the database Functions (backup-pg, restore-pg, backup-mysql,
// restore-mysql) share: the connection details from an AppBinding and its
// Secret or from flags, a readiness wait with a real connection, a dump
// streamed into `restic backup --stdin`, and `restic dump` streamed into the
// database's client, with the exit status of both sides checked.
//
// The database password reaches a child process through its environment
// only (PGPASSWORD, MYSQL_PWD): never an argument, a log line or an error.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalog "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/restic"
)

// DumpFileName is the name a database dump has inside its snapshot, as
// Stash's database Functions named it: repositories written by Stash
// restore unchanged.
const DumpFileName = "dumpfile.sql"

// DatabaseOptions are the flags every database Function has besides Setup.
type DatabaseOptions struct {
	Setup
	// Namespace and AppBinding name the AppBinding that says where the
	// database is and which Secret holds its credentials.
	Namespace  string
	AppBinding string
	// Kubeconfig is a kubeconfig file; empty means the pod's in-cluster
	// configuration. Only used with AppBinding.
	Kubeconfig string
	// DBHost, DBPort and DBUser say where the database is when AppBinding
	// is empty; the password then comes from PGPASSWORD or MYSQL_PWD. (Not
	// Host: Setup.Host is the snapshots' host name.)
	DBHost string
	DBPort int
	DBUser string
	// ExtraArgs (--pg-args, --mysql-args) are appended to the dump or
	// restore program's arguments, split like a shell splits words but
	// without any expansion: no shell is ever run.
	ExtraArgs string
	// WaitTimeout is how many seconds to wait for the database to accept
	// a connection.
	WaitTimeout int
}

// DatabaseRestoreOptions are the flags of the database restore Functions.
type DatabaseRestoreOptions struct {
	DatabaseOptions
	// Snapshots are restored in order; empty (or "latest") means the
	// latest snapshot of SourceHostname.
	Snapshots []string
	// SourceHostname is whose snapshots to restore; empty means Hostname.
	SourceHostname string
}

const defaultWaitTimeout = 300

func (o *DatabaseOptions) addFlags(fs *pflag.FlagSet, e *engine, argsDefault, argsUsage string) {
	o.Setup.AddFlags(fs)
	fs.StringVar(&o.Namespace, "namespace", orDefault(o.Namespace, "default"), "namespace of the AppBinding")
	fs.StringVar(&o.AppBinding, "appbinding", o.AppBinding, "AppBinding that describes the database and its credentials Secret (empty: use --host, --port, --user and $"+e.passwordEnv+")")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig file to read the AppBinding with (default: the in-cluster configuration)")
	fs.StringVar(&o.DBHost, "host", o.DBHost, "database host, when --appbinding is empty")
	fs.IntVar(&o.DBPort, "port", o.DBPort, fmt.Sprintf("database port, when --appbinding is empty (0: %d)", e.defaultPort))
	fs.StringVar(&o.DBUser, "user", o.DBUser, fmt.Sprintf("database user, when --appbinding is empty (default %s)", e.defaultUser))
	fs.StringVar(&o.ExtraArgs, e.argsFlag, argsDefault, argsUsage+"; split on whitespace, quotes group words, no shell is run")
	fs.IntVar(&o.WaitTimeout, "wait-timeout", defaultWaitTimeout, "seconds to wait for the database to accept a connection")
}

func (o *DatabaseRestoreOptions) addFlags(fs *pflag.FlagSet, e *engine, argsUsage string) {
	o.DatabaseOptions.addFlags(fs, e, "", argsUsage)
	fs.StringSliceVar(&o.Snapshots, "snapshot", nil, "snapshot ids to restore, comma separated, in order (empty or latest: the latest snapshot of --source-hostname)")
	fs.StringVar(&o.SourceHostname, "source-hostname", o.SourceHostname, "host whose snapshots are restored (default: --hostname)")
}

// engine is what differs between PostgreSQL and MySQL/MariaDB.
type engine struct {
	name        string // for messages: "PostgreSQL"
	argsFlag    string // "pg-args"
	defaultPort int
	defaultUser string
	// passwordEnv is the only way the password reaches a child process.
	passwordEnv string
	// userKeys and passwordKeys are the credentials Secret's keys, the
	// first one present wins: the kubedb names first, then the generic ones.
	userKeys     []string
	passwordKeys []string
	// dumpPrograms and clientPrograms: the first one on PATH is used.
	dumpPrograms   []string
	clientPrograms []string
	// connArgs are the arguments naming the server and user, for every
	// program of the engine.
	connArgs func(c connection) []string
	// dumpArgs come after connArgs and before the extra arguments.
	dumpArgs []string
	// restoreArgs come after connArgs and before the extra arguments.
	restoreArgs []string
	// pingArgs come after connArgs and run one trivial query.
	pingArgs []string
	// newRestoreErrors, when set, watches the client's stderr during a
	// restore for statement errors its exit status does not reflect.
	newRestoreErrors func() restoreErrors
}

// restoreErrors classifies the client's stderr lines during a restore.
type restoreErrors interface {
	line(s string)
	// err summarises the errors that make the restore fail, or is nil.
	err(program string) error
}

// secret is a string that formats as <redacted>, so that printing a
// connection with %v or %+v cannot leak the password.
type secret string

func (secret) String() string   { return "<redacted>" }
func (secret) GoString() string { return `"<redacted>"` }

// connection is where the database is and who to log in as.
type connection struct {
	Host     string
	Port     int
	User     string
	Password secret
}

func (c connection) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// scrubber removes the credentials this run knows of from error text: the
// database password, and the storage Secret through the repository.
type scrubber struct {
	repo     *restic.Repo
	password secret
}

func (s scrubber) err(err error) error {
	msg := err.Error()
	if s.repo != nil {
		msg = s.repo.Scrub(msg)
	}
	if s.password != "" {
		msg = strings.ReplaceAll(msg, string(s.password), "<redacted>")
	}
	return errors.New(msg)
}

// waitTimeout is --wait-timeout as a duration.
func (o DatabaseOptions) waitTimeout() (time.Duration, error) {
	if o.WaitTimeout < 0 {
		return 0, fmt.Errorf("--wait-timeout=%d: must be zero or more seconds", o.WaitTimeout)
	}
	return time.Duration(o.WaitTimeout) * time.Second, nil
}

// connection resolves where the database is: from the AppBinding when one
// is named, otherwise from the flags and the password variable.
func (o DatabaseOptions) connection(ctx context.Context, e *engine) (connection, error) {
	if o.AppBinding == "" {
		if o.DBHost == "" {
			return connection{}, fmt.Errorf("no database given: set --appbinding (and --namespace), or --host")
		}
		c := connection{Host: o.DBHost, Port: o.DBPort, User: orDefault(o.DBUser, e.defaultUser), Password: secret(os.Getenv(e.passwordEnv))}
		if c.Port == 0 {
			c.Port = e.defaultPort
		}
		if c.Port < 0 || c.Port > 65535 {
			return connection{}, fmt.Errorf("--port=%d is not a TCP port", c.Port)
		}
		return c, nil
	}
	cl, err := kubeClient(o.Kubeconfig)
	if err != nil {
		return connection{}, err
	}
	return appBindingConnection(ctx, cl, orDefault(o.Namespace, "default"), o.AppBinding, e)
}

// kubeClient is a client for the AppBinding and Secrets: from kubeconfig
// when given, the pod's ServiceAccount otherwise.
func kubeClient(kubeconfig string) (client.Reader, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load --kubeconfig %s: %w", kubeconfig, err)
		}
	} else {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no in-cluster Kubernetes configuration to read the AppBinding with (%w): run in a pod, or set --kubeconfig", err)
		}
	}
	// A Function must not hang on an unreachable API server.
	cfg.Timeout = 30 * time.Second
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := appcatalog.AddToScheme(scheme); err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client for %s: %w", cfg.Host, err)
	}
	return cl, nil
}

// appBindingConnection reads the AppBinding namespace/name and its Secret.
func appBindingConnection(ctx context.Context, cl client.Reader, namespace, name string, e *engine) (connection, error) {
	var ab appcatalog.AppBinding
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &ab); err != nil {
		return connection{}, kubeReadError("AppBinding", namespace, name, "check --appbinding (the target's name) and --namespace", err)
	}
	where := fmt.Sprintf("AppBinding %s/%s", namespace, name)
	host, port, err := clientConfigAddress(ab.Spec.ClientConfig, e.defaultPort)
	if err != nil {
		return connection{}, fmt.Errorf("%s: %w", where, err)
	}
	if ab.Spec.Secret == nil || ab.Spec.Secret.Name == "" {
		return connection{}, fmt.Errorf("%s has no spec.secret: name the Secret with the database credentials there", where)
	}
	secretName := ab.Spec.Secret.Name
	var s corev1.Secret
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: secretName}, &s); err != nil {
		return connection{}, kubeReadError("Secret", namespace, secretName, "it is named by "+where+" spec.secret", err)
	}
	data, err := transformSecret(ctx, cl, namespace, s.Data, ab.Spec.SecretTransforms)
	if err != nil {
		return connection{}, fmt.Errorf("%s spec.secretTransforms: %w", where, err)
	}
	user, ok := firstKey(data, e.userKeys)
	if !ok || user == "" {
		return connection{}, fmt.Errorf("credentials Secret %s/%s (of %s) has none of the keys %s after secretTransforms: add the database user under one of them",
			namespace, secretName, where, strings.Join(e.userKeys, ", "))
	}
	password, ok := firstKey(data, e.passwordKeys)
	if !ok {
		return connection{}, fmt.Errorf("credentials Secret %s/%s (of %s) has none of the keys %s after secretTransforms: add the database password under one of them",
			namespace, secretName, where, strings.Join(e.passwordKeys, ", "))
	}
	return connection{Host: host, Port: port, User: user, Password: secret(password)}, nil
}

// kubeReadError says what to do about a failed read of an object.
func kubeReadError(kind, namespace, name, hint string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s %s/%s not found: %s", kind, namespace, name, hint)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed to read %s %s/%s: the Job's ServiceAccount needs get on it (%v)", kind, namespace, name, err)
	}
	return fmt.Errorf("read %s %s/%s: %w", kind, namespace, name, err)
}

// firstKey is the value of the first of keys present in data.
func firstKey(data map[string][]byte, keys []string) (string, bool) {
	for _, k := range keys {
		if v, ok := data[k]; ok {
			return string(v), true
		}
	}
	return "", false
}

// clientConfigAddress is the host and port of the database: the Service's
// name (it resolves within the namespace the Job runs in) and port, else
// the host and port of the URL.
func clientConfigAddress(cc appcatalog.ClientConfig, defaultPort int) (string, int, error) {
	if svc := cc.Service; svc != nil {
		if svc.Name == "" {
			return "", 0, errors.New("spec.clientConfig.service has no name")
		}
		port := int(svc.Port)
		if port == 0 {
			port = defaultPort
		}
		return svc.Name, port, nil
	}
	if cc.URL != nil && strings.TrimSpace(*cc.URL) != "" {
		return parseDatabaseURL(*cc.URL, defaultPort)
	}
	return "", 0, errors.New("spec.clientConfig has neither service nor url: set one of them to where the database listens")
}

// parseDatabaseURL reads the host and port of a database URL in any of the
// forms AppBindings carry: scheme://[user[:password]@]host[:port][/db],
// host[:port], or the Go MySQL driver's [user[:password]@]tcp(host:port)/db.
// Errors never repeat the URL: it may hold a password.
func parseDatabaseURL(raw string, defaultPort int) (string, int, error) {
	s := strings.TrimSpace(raw)
	var host, port string
	if i := strings.Index(s, "tcp("); i >= 0 && !strings.Contains(s, "://") {
		rest := s[i+len("tcp("):]
		j := strings.IndexByte(rest, ')')
		if j < 0 {
			return "", 0, errors.New("spec.clientConfig.url has an unclosed tcp(")
		}
		hp := rest[:j]
		var err error
		if host, port, err = net.SplitHostPort(hp); err != nil {
			host, port = strings.Trim(hp, "[]"), ""
		}
	} else {
		if !strings.Contains(s, "://") {
			s = "//" + s
		}
		u, err := url.Parse(s)
		if err != nil {
			return "", 0, errors.New("spec.clientConfig.url is not a URL: use e.g. postgresql://host:5432")
		}
		host, port = u.Hostname(), u.Port()
	}
	if host == "" {
		return "", 0, errors.New("spec.clientConfig.url names no host: use e.g. postgresql://host:5432")
	}
	if port == "" {
		return host, defaultPort, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return "", 0, fmt.Errorf("spec.clientConfig.url has port %q, which is not a TCP port", port)
	}
	return host, p, nil
}

// transformSecret applies an AppBinding's secretTransforms in order to a
// copy of a Secret's data, the way kubedb's AppBindings expect: renameKey
// moves a key (a missing key is left alone), addKey sets one, addKeysFrom
// copies all keys of another Secret in the namespace, removeKey deletes one.
func transformSecret(ctx context.Context, cl client.Reader, namespace string, in map[string][]byte, transforms []appcatalog.SecretTransform) (map[string][]byte, error) {
	data := make(map[string][]byte, len(in))
	for k, v := range in {
		data[k] = v
	}
	for i, t := range transforms {
		if r := t.RenameKey; r != nil {
			if r.From == "" || r.To == "" {
				return nil, fmt.Errorf("[%d].renameKey needs both from and to", i)
			}
			if v, ok := data[r.From]; ok && r.From != r.To {
				data[r.To] = v
				delete(data, r.From)
			}
		}
		if a := t.AddKey; a != nil {
			if a.Key == "" {
				return nil, fmt.Errorf("[%d].addKey needs a key", i)
			}
			data[a.Key] = a.Value
		}
		if a := t.AddKeysFrom; a != nil {
			if a.SecretRef == nil || a.SecretRef.Name == "" {
				return nil, fmt.Errorf("[%d].addKeysFrom needs secretRef.name", i)
			}
			var s corev1.Secret
			if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: a.SecretRef.Name}, &s); err != nil {
				return nil, fmt.Errorf("[%d].addKeysFrom: %w", i, kubeReadError("Secret", namespace, a.SecretRef.Name, "it is named by addKeysFrom.secretRef", err))
			}
			for k, v := range s.Data {
				data[k] = v
			}
		}
		if r := t.RemoveKey; r != nil {
			delete(data, r.Key)
		}
	}
	return data, nil
}

// splitArgs splits s into words the way a POSIX shell does, but expands
// nothing: whitespace separates words, '...' keeps everything literally,
// "..." keeps whitespace and honours \" and \\, and a backslash outside
// quotes escapes the next character. No shell is run, so $, * and ; are
// ordinary characters.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	const (
		plain = iota
		single
		double
	)
	state := plain
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch state {
		case single:
			if r == '\'' {
				state = plain
			} else {
				cur.WriteRune(r)
			}
		case double:
			switch {
			case r == '"':
				state = plain
			case r == '\\' && i+1 < len(runes) && (runes[i+1] == '"' || runes[i+1] == '\\'):
				i++
				cur.WriteRune(runes[i])
			default:
				cur.WriteRune(r)
			}
		default:
			switch {
			case r == ' ' || r == '\t' || r == '\n' || r == '\r':
				if inWord {
					args = append(args, cur.String())
					cur.Reset()
					inWord = false
				}
			case r == '\'':
				state, inWord = single, true
			case r == '"':
				state, inWord = double, true
			case r == '\\':
				if i+1 == len(runes) {
					return nil, errors.New("ends with a lone backslash")
				}
				i++
				cur.WriteRune(runes[i])
				inWord = true
			default:
				cur.WriteRune(r)
				inWord = true
			}
		}
	}
	if state != plain {
		return nil, errors.New("has an unterminated quote")
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

// findProgram is the first of names found on PATH.
func findProgram(e *engine, names []string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH: the Function's image needs the %s client tools", strings.Join(names, " or "), e.name)
}

// childEnv is this process's environment with the password variable set
// to the connection's password and every other password variable removed,
// so that a stale one can never be used instead.
func childEnv(e *engine, c connection) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PGPASSWORD" || k == "MYSQL_PWD" {
			continue
		}
		env = append(env, kv)
	}
	if c.Password != "" {
		env = append(env, e.passwordEnv+"="+string(c.Password))
	}
	return env
}

// program is one run of a database tool.
type program struct {
	path string
	args []string
	env  []string
}

func (p program) name() string {
	return p.path[strings.LastIndexByte(p.path, '/')+1:]
}

// command prepares p; a cancelled ctx asks it to stop with SIGTERM first.
func (p program) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Env = p.env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (o DatabaseOptions) logCommand(p program) {
	o.logf("running: %s", strings.Join(append([]string{p.path}, p.args...), " "))
}

// programError describes a finished program's failure with its stderr tail.
func programError(ctx context.Context, name string, err error, stderr *stderrLines) error {
	if err == nil {
		return nil
	}
	var msg string
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		msg = fmt.Sprintf("%s was stopped: %v", name, ctx.Err())
	case errors.As(err, &ee) && ee.Exited():
		msg = fmt.Sprintf("%s failed with exit code %d", name, ee.ExitCode())
	case errors.As(err, &ee):
		msg = fmt.Sprintf("%s was stopped (%s)", name, ee.ProcessState)
	default:
		msg = fmt.Sprintf("%s failed: %v", name, err)
	}
	if tail := stderr.tail(); tail != "" {
		msg += ": " + tail
	}
	return errors.New(msg)
}

// stderrLines collects a program's stderr: the last lines for error
// messages, and each line for an optional watcher.
type stderrLines struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	watch   func(string)
}

const (
	stderrKeep    = 10
	stderrLineMax = 512
)

func newStderrLines(watch func(string)) *stderrLines { return &stderrLines{watch: watch} }

func (s *stderrLines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			s.push()
			continue
		}
		// Keep the line's start: a runaway line must not use unbounded
		// memory, and its start says what it is.
		if len(s.partial) < stderrLineMax {
			s.partial = append(s.partial, b)
		}
	}
	return len(p), nil
}

func (s *stderrLines) push() {
	line := strings.TrimSpace(string(s.partial))
	s.partial = s.partial[:0]
	if line == "" {
		return
	}
	if s.watch != nil {
		s.watch(line)
	}
	s.lines = append(s.lines, line)
	if len(s.lines) > stderrKeep {
		s.lines = s.lines[len(s.lines)-stderrKeep:]
	}
}

// flush hands a last line without a newline to the watcher; call it once
// the program has exited.
func (s *stderrLines) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.push()
}

// tail is the last lines, joined into one line for an error message.
func (s *stderrLines) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := s.lines
	if p := strings.TrimSpace(string(s.partial)); p != "" {
		lines = append(append([]string(nil), lines...), p)
	}
	return strings.Join(lines, "; ")
}

// waitReady runs the engine's trivial query until it succeeds or timeout
// passes. A port that accepts connections is not a database that accepts
// logins, so nothing less than a real query counts.
func (o DatabaseOptions) waitReady(ctx context.Context, e *engine, client string, c connection, timeout time.Duration) error {
	p := program{path: client, args: append(e.connArgs(c), e.pingArgs...), env: childEnv(e, c)}
	deadline := time.Now().Add(timeout)
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// One attempt may not hang: a blackholed address never answers.
		attemptTimeout := min(15*time.Second, max(time.Until(deadline), 5*time.Second))
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		stderr := newStderrLines(nil)
		cmd := p.command(actx)
		cmd.Stderr = stderr
		err := cmd.Run()
		timedOut := actx.Err() != nil
		cancel()
		if err == nil {
			if attempt > 1 {
				o.logf("%s at %s accepts connections", e.name, c.addr())
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s at %s: %w", e.name, c.addr(), ctx.Err())
		}
		if timedOut {
			err = fmt.Errorf("%s did not answer within %s", p.name(), attemptTimeout)
		} else {
			err = programError(ctx, p.name(), err, stderr)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s at %s did not accept a connection as user %s within --wait-timeout=%ds (%d attempts); last attempt: %v",
				e.name, c.addr(), c.User, int(timeout/time.Second), attempt, err)
		}
		if attempt == 1 {
			o.logf("waiting for %s at %s: %v", e.name, c.addr(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s at %s: %w", e.name, c.addr(), ctx.Err())
		case <-time.After(min(delay, left)):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// exitCheckedReader reads a dump's stdout and, at its end, the dump's exit
// status: a failed dump turns the end of its output into an error, so that
// restic is interrupted instead of seeing a clean end of input and saving a
// partial dump as a complete snapshot.
type exitCheckedReader struct {
	r    io.ReadCloser
	wait func() error
	once sync.Once
	err  error
}

func (x *exitCheckedReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if err == io.EOF {
		if werr := x.finish(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (x *exitCheckedReader) finish() error {
	x.once.Do(func() { x.err = x.wait() })
	return x.err
}

// Close closes the pipe, so that a dump still writing (because restic
// stopped reading) gets EPIPE and ends, and returns its exit status.
func (x *exitCheckedReader) Close() error {
	_ = x.r.Close()
	return x.finish()
}

// dumpToRepo runs dump with its stdout streamed into restic backup --stdin
// and returns restic's summary only when both succeeded. Otherwise no
// snapshot of the dump remains.
func (o DatabaseOptions) dumpToRepo(ctx context.Context, repo *restic.Repo, dump program, host string) (*restic.BackupSummary, error) {
	o.logCommand(dump)
	cmd := dump.command(ctx)
	stderr := newStderrLines(nil)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", dump.name(), err)
	}
	src := &exitCheckedReader{r: stdout, wait: func() error { return programError(ctx, dump.name(), cmd.Wait(), stderr) }}
	sum, backupErr := repo.BackupStdin(ctx, src, DumpFileName, host)
	dumpErr := src.Close()

	var readErr *restic.ReadError
	err = nil
	switch {
	case backupErr != nil && !errors.As(backupErr, &readErr):
		// restic failed by itself; the dump, cut off, is not the cause.
		err = fmt.Errorf("restic backup of the %s output failed: %w", dump.name(), backupErr)
	case dumpErr != nil:
		err = dumpErr
	case backupErr != nil:
		err = backupErr
	}
	if err == nil {
		return sum, nil
	}
	// BackupStdin removes a snapshot taken from input that failed; this
	// covers one that a dump failing after its last byte would leave.
	if sum != nil && sum.SnapshotID != "" {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if ferr := repo.ForgetIDs(fctx, sum.SnapshotID); ferr != nil {
			return nil, fmt.Errorf("%w; removing the incomplete snapshot %s also failed, remove it with restic forget: %v", err, sum.ShortID(), ferr)
		}
	}
	return nil, fmt.Errorf("%w; no snapshot was kept", err)
}

// dumpToClient streams one snapshot's dump file into the client program.
func (o DatabaseOptions) dumpToClient(ctx context.Context, e *engine, repo *restic.Repo, client program, snapshot, source string) error {
	// restic writes straight into the client's stdin through an OS pipe:
	// no copy in this process, and each side sees the other end.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	o.logCommand(client)
	cmd := client.command(ctx)
	cmd.Stdin = pr
	var errs restoreErrors
	var watch func(string)
	if e.newRestoreErrors != nil {
		errs = e.newRestoreErrors()
		watch = errs.line
	}
	stderr := newStderrLines(watch)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return fmt.Errorf("start %s: %w", client.name(), err)
	}
	_ = pr.Close() // the client has its copy; ours would keep it from seeing EOF
	dumpErr := repo.Dump(ctx, snapshot, source, DumpFileName, pw)
	_ = pw.Close()
	clientErr := programError(ctx, client.name(), cmd.Wait(), stderr)
	stderr.flush()
	switch {
	case clientErr != nil:
		// If the client stopped first, restic's broken pipe is a
		// consequence, not the cause.
		return clientErr
	case dumpErr != nil:
		return fmt.Errorf("read %s from the repository: %w", DumpFileName, dumpErr)
	case errs != nil:
		return errs.err(client.name())
	}
	return nil
}

// prepared is what backups and restores both need before data moves.
type prepared struct {
	extra      []string
	timeout    time.Duration
	clientPath string
	conn       connection
	repo       *restic.Repo
}

// prepare checks the flags, finds the client, reads the connection (from
// the AppBinding or the flags) and sets up the repository driver; scrub
// learns the secrets, so that no later error can show them.
func (o DatabaseOptions) prepare(ctx context.Context, e *engine, scrub *scrubber) (*prepared, error) {
	extra, err := splitArgs(o.ExtraArgs)
	if err != nil {
		return nil, fmt.Errorf("--%s %s", e.argsFlag, err)
	}
	timeout, err := o.waitTimeout()
	if err != nil {
		return nil, err
	}
	clientPath, err := findProgram(e, e.clientPrograms)
	if err != nil {
		return nil, err
	}
	conn, err := o.connection(ctx, e)
	if err != nil {
		return nil, err
	}
	scrub.password = conn.Password
	repo, err := o.NewRepo()
	if err != nil {
		return nil, err
	}
	scrub.repo = repo
	return &prepared{extra: extra, timeout: timeout, clientPath: clientPath, conn: conn, repo: repo}, nil
}

// backupDatabase is backup-pg and backup-mysql: dump into the repository,
// then the after-backup sequence. Failures are the Failed host entry.
func backupDatabase(ctx context.Context, e *engine, o DatabaseOptions) BackupOutput {
	start := time.Now()
	host := o.Host()
	var scrub scrubber
	fail := func(err error) BackupOutput { return FailedBackup(host, start, nil, scrub.err(err)) }

	dumpPath, err := findProgram(e, e.dumpPrograms)
	if err != nil {
		return fail(err)
	}
	p, err := o.prepare(ctx, e, &scrub)
	if err != nil {
		return fail(err)
	}
	extra, timeout, clientPath, conn, repo := p.extra, p.timeout, p.clientPath, p.conn, p.repo
	created, err := repo.OpenOrInit(ctx)
	if err != nil {
		return fail(err)
	}
	if created {
		o.logf("initialised a new repository at %s", repo)
	}
	if err := o.waitReady(ctx, e, clientPath, conn, timeout); err != nil {
		return fail(err)
	}
	args := append(append(e.connArgs(conn), e.dumpArgs...), extra...)
	dump := program{path: dumpPath, args: args, env: childEnv(e, conn)}
	sum, err := o.dumpToRepo(ctx, repo, dump, host)
	if err != nil {
		return fail(err)
	}
	snaps := []v1beta1.SnapshotStats{SnapshotStats(sum, DumpFileName)}
	repoStats, err := AfterBackup(ctx, repo, host, o.Retention)
	if err != nil {
		return FailedBackup(host, start, snaps, scrub.err(err))
	}
	return BackupOutput{
		HostBackupStats: []v1beta1.HostBackupStats{{
			Hostname:  host,
			Phase:     v1beta1.HostBackupSucceeded,
			Snapshots: snaps,
			Duration:  since(start),
		}},
		Repository: repoStats,
	}
}

// restoreDatabase is restore-pg and restore-mysql: each snapshot's dump
// streamed into the client. Failures are the Failed host entry.
func restoreDatabase(ctx context.Context, e *engine, o DatabaseRestoreOptions) RestoreOutput {
	start := time.Now()
	host := o.Host()
	var scrub scrubber
	fail := func(err error) RestoreOutput { return FailedRestore(host, start, scrub.err(err)) }
	source := orDefault(o.SourceHostname, host)

	p, err := o.prepare(ctx, e, &scrub)
	if err != nil {
		return fail(err)
	}
	extra, timeout, clientPath, conn, repo := p.extra, p.timeout, p.clientPath, p.conn, p.repo
	// Open, never init: no repository here is a mistake to report.
	if err := repo.Open(ctx); err != nil {
		return fail(err)
	}
	if err := o.waitReady(ctx, e, clientPath, conn, timeout); err != nil {
		return fail(err)
	}
	snapshots := nonEmpty(o.Snapshots)
	if len(snapshots) == 0 {
		snapshots = []string{restic.Latest}
	}
	args := append(append(e.connArgs(conn), e.restoreArgs...), extra...)
	cl := program{path: clientPath, args: args, env: childEnv(e, conn)}
	for _, s := range snapshots {
		if err := o.dumpToClient(ctx, e, repo, cl, s, source); err != nil {
			if s == restic.Latest {
				return fail(fmt.Errorf("restore the latest snapshot of host %s: %w", source, err))
			}
			return fail(fmt.Errorf("restore snapshot %s: %w", s, err))
		}
	}
	return RestoreOutput{HostRestoreStats: []v1beta1.HostRestoreStats{{
		Hostname: host,
		Phase:    v1beta1.HostRestoreSucceeded,
		Duration: since(start),
	}}}
}
