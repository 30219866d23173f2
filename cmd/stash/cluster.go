package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
)

// cluster is how the user-facing commands (trigger, pause, describe, ...)
// reach a cluster: the kubeconfig, context and namespace flags as kubectl
// takes them (--kubeconfig, KUBECONFIG, ~/.kube/config, in a pod its
// ServiceAccount; -n/--namespace, else the context's namespace, else
// default).
type cluster struct {
	loading   *clientcmd.ClientConfigLoadingRules
	overrides clientcmd.ConfigOverrides
	config    clientcmd.ClientConfig
}

// bind adds kubectl's connection flags to cmd, which c reads once they are
// parsed, and makes a flag error a usage error (exit status 2).
func (c *cluster) bind(cmd *cobra.Command) {
	c.loading = clientcmd.NewDefaultClientConfigLoadingRules()
	connection := pflag.NewFlagSet("connection", pflag.ContinueOnError)
	connection.StringVar(&c.loading.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	clientcmd.BindOverrideFlags(&c.overrides, connection, clientcmd.RecommendedConfigOverrideFlags(""))
	// kubectl's other connection flags (--server, --token, --as, ...) work
	// too; like kubectl, which lists them under `kubectl options`, the help
	// leaves them out.
	connection.VisitAll(func(f *pflag.Flag) { f.Hidden = !shownConnectionFlags[f.Name] })
	cmd.Flags().AddFlagSet(connection)
	c.config = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(c.loading, &c.overrides)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
}

// shownConnectionFlags are the connection flags the help lists.
var shownConnectionFlags = map[string]bool{"kubeconfig": true, "context": true, "namespace": true}

// namespace is the namespace the command works in.
func (c *cluster) namespace() (string, error) {
	ns, _, err := c.config.Namespace()
	if err != nil {
		return "", fmt.Errorf("read the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

func (c *cluster) restConfig() (*rest.Config, error) {
	cfg, err := c.config.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("read the kubeconfig: %w", err)
	}
	return cfg, nil
}

// client is a client with the scheme of our kinds and the built-in ones.
func (c *cluster) client() (client.Client, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Host, err)
	}
	return cl, nil
}

// clientset is client-go's typed client, for what controller-runtime's
// client does not do (a pod's logs).
func (c *cluster) clientset() (kubernetes.Interface, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// conn is what a command body works with: a context that ends on Ctrl-C,
// the client, and the namespace.
type conn struct {
	ctx    context.Context
	client client.Client
	ns     string
}

// run is a RunE that connects as the flags say, then runs body.
func (c *cluster) run(body func(cn conn, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, cancel := interrupted()
		defer cancel()
		cl, err := c.client()
		if err != nil {
			return err
		}
		ns, err := c.namespace()
		if err != nil {
			return err
		}
		return body(conn{ctx: ctx, client: cl, ns: ns}, cmd, args)
	}
}

// backupConfiguration reads the BackupConfiguration name in the namespace.
func (cn conn) backupConfiguration(name string) (*stashv1beta1.BackupConfiguration, error) {
	var bc stashv1beta1.BackupConfiguration
	if err := cn.client.Get(cn.ctx, client.ObjectKey{Namespace: cn.ns, Name: name}, &bc); err != nil {
		return nil, notFound(err, "BackupConfiguration", cn.ns, name)
	}
	return &bc, nil
}

// interrupted is a context that ends on Ctrl-C or SIGTERM, so that a wait
// stops cleanly (and exits 1) instead of being killed mid-line.
func interrupted() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// notFound words a missing object as kubectl would, with the namespace
// the command looked in: the usual cause is a wrong -n.
func notFound(err error, kind, namespace, name string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %q not found in namespace %q (wrong -n/--namespace?)", kind, name, namespace)
	}
	return fmt.Errorf("get %s %s/%s: %w", kind, namespace, name, err)
}
