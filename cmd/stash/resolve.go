package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/stash-operator/stash/internal/defaultcatalog"
	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/version"
)

type resolveOptions struct {
	files               []string
	namespace           string
	backupSession       string
	restoreSession      string
	backupConfiguration string
	output              string
	noCatalog           bool
	image               string
}

func init() { rootCmd.AddCommand(newResolveCommand()) }

func newResolveCommand() *cobra.Command {
	o := &resolveOptions{}
	cmd := &cobra.Command{
		Use:   "resolve -f FILE_OR_DIR [-f ...] (--backup-session NAME | --restore-session NAME | --backup-configuration NAME)",
		Short: "Print the Job the operator would create for a session, offline, from manifests",
		Long: `resolve reads Functions, Tasks, Repositories, BackupConfigurations, BackupSessions and
RestoreSessions from files (a directory: its *.yaml, *.yml and *.json), adds the default
catalog, and prints the one Job the operator would create, with the same code.

Exit status: 0 with the Job on stdout; 1 when resolution fails (every error on its own
line on stderr); 2 on a usage error. Warnings go to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr()) },
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "file or directory of manifests (repeatable)")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of objects that name none")
	f.StringVar(&o.backupSession, "backup-session", "", "resolve the Job of this BackupSession")
	f.StringVar(&o.restoreSession, "restore-session", "", "resolve the Job of this RestoreSession")
	f.StringVar(&o.backupConfiguration, "backup-configuration", "", "resolve the Job of a new session of this BackupConfiguration")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format: yaml or json")
	f.BoolVar(&o.noCatalog, "no-catalog", false, "do not add the default Functions and Tasks")
	f.StringVar(&o.image, "image", version.Image(), "the stash image of the catalog Functions and hook containers")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	return cmd
}

func usageError(err error) error { return &exitError{code: 2, err: err} }

func (o *resolveOptions) run(stdout, stderr io.Writer) error {
	selected := 0
	for _, s := range []string{o.backupSession, o.restoreSession, o.backupConfiguration} {
		if s != "" {
			selected++
		}
	}
	if selected != 1 {
		return usageError(errors.New("name exactly one of --backup-session, --restore-session or --backup-configuration"))
	}
	if len(o.files) == 0 {
		return usageError(errors.New("give at least one -f FILE_OR_DIR"))
	}
	if o.output != "yaml" && o.output != "json" {
		return usageError(fmt.Errorf("-o %q: use yaml or json", o.output))
	}

	objs := resolve.NewObjects()
	if !o.noCatalog {
		fns, tasks, err := defaultcatalog.Load(o.image)
		if err != nil {
			return fmt.Errorf("load the default catalog: %w", err)
		}
		for _, fn := range fns {
			objs.Add(fn, o.namespace)
		}
		for _, t := range tasks {
			objs.Add(t, o.namespace)
		}
	}
	files, err := expandFiles(o.files)
	if err != nil {
		return usageError(err)
	}
	for _, file := range files {
		if err := addFile(objs, file, o.namespace, stderr); err != nil {
			fmt.Fprintln(stderr, err)
			return &exitError{code: 1, err: errors.New("")}
		}
	}

	opts := resolve.Options{Image: o.image}
	var results []*resolve.Result
	switch {
	case o.backupSession != "":
		results, err = objs.ResolveBackupSession(o.namespace, o.backupSession, opts)
	case o.restoreSession != "":
		results, err = objs.ResolveRestoreSession(o.namespace, o.restoreSession, opts)
	default:
		results, err = objs.ResolveBackupConfiguration(o.namespace, o.backupConfiguration, time.Now(), opts)
	}
	if err != nil {
		var all resolve.Errors
		if !errors.As(err, &all) {
			all = resolve.Errors{err}
		}
		for _, e := range all {
			fmt.Fprintln(stderr, e)
		}
		return &exitError{code: 1, err: errors.New("")}
	}
	// A workload has a Job per host, and a Job may come with its interim
	// claim: YAML documents, or a JSON list.
	var out []byte
	seen := map[string]bool{}
	var created []runtime.Object
	for _, res := range results {
		for _, w := range res.Warnings {
			if !seen[w] {
				fmt.Fprintln(stderr, "warning:", w)
				seen[w] = true
			}
		}
		created = append(created, res.Objects()...)
	}
	if o.output == "json" {
		var v any = created[0]
		if len(created) > 1 {
			v = created
		}
		out, err = marshal("json", v)
	} else {
		for i, obj := range created {
			y, merr := marshal("yaml", obj)
			if merr != nil {
				return merr
			}
			if i > 0 {
				out = append(out, "---\n"...)
			}
			out = append(out, y...)
		}
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// expandFiles turns directories into their manifest files, sorted.
func expandFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && slices.Contains([]string{".yaml", ".yml", ".json"}, ext) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	return files, nil
}

// addFile adds every document of file; kinds that are not ours, or that
// resolution does not use, are skipped with a warning.
func addFile(objs *resolve.Objects, file, namespace string, stderr io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	docs, err := manifest.Split(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, doc := range docs {
		obj, err := manifest.Decode(doc.JSON)
		if errors.Is(err, manifest.ErrUnknownKind) {
			obj, err = manifest.DecodeBuiltin(doc.JSON) // a workload target, its pods
		}
		if errors.Is(err, manifest.ErrUnknownKind) {
			gvk, _ := manifest.GVK(doc.JSON)
			fmt.Fprintf(stderr, "warning: %s: document %d: ignoring %s (not used by resolve)\n", file, doc.Index, gvk.Kind)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", file, doc.Index, err)
		}
		if !objs.Add(obj, namespace) {
			fmt.Fprintf(stderr, "warning: %s: document %d: ignoring %s (not used by resolve)\n", file, doc.Index, obj.GetObjectKind().GroupVersionKind().Kind)
		}
	}
	return nil
}

// marshal is v as format says: indented JSON with a newline, or YAML.
func marshal(format string, v any) ([]byte, error) {
	if format == "json" {
		b, err := json.MarshalIndent(v, "", "  ")
		return append(b, '\n'), err
	}
	return yaml.Marshal(v)
}
