package function

// Where the database is and who to log in as: from the flags, or from an
// AppBinding and its credentials Secret (with kubedb's secretTransforms).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalog "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	"github.com/stash-operator/stash/internal/kube"
)

// secret is a string that formats as <redacted>, so that printing a
// connection with %v or %+v cannot leak the password.
type secret string

func (secret) String() string   { return "<redacted>" }
func (secret) GoString() string { return `"<redacted>"` }

// connection is where the database is and who to log in as.
type connection struct {
	Host string
	// Addr is Host's address, resolved once (pinAddress); empty: the
	// client resolves Host itself.
	Addr     string
	Port     int
	User     string
	Password secret
}

func (c connection) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

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
	cl, err := kube.NewClient(o.Kubeconfig)
	if errors.Is(err, kube.ErrNoInClusterConfig) {
		return connection{}, fmt.Errorf("no in-cluster Kubernetes configuration to read the AppBinding with (%w): run in a pod, or set --kubeconfig", err)
	}
	if err != nil {
		return connection{}, fmt.Errorf("connect to the API server to read the AppBinding: %w", err)
	}
	return appBindingConnection(ctx, cl, orDefault(o.Namespace, "default"), o.AppBinding, e)
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
