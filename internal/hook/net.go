package hook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// responseTail is how much of an HTTP response body is kept.
const responseTail = 4096

// http sends one request as an HTTP probe does: a status from 200 to 399
// succeeds. A hook without host goes to the target pod's IP, and a named
// port is one of its containers' ports.
func (r *Runner) http(ctx context.Context, method string, scheme corev1.URIScheme, host string, port intstr.IntOrString, path string,
	headers []corev1.HTTPHeader, body io.Reader) (Output, error) {
	addr, err := r.address(host, port)
	if err != nil {
		return Output{}, err
	}
	if scheme == "" {
		scheme = corev1.URISchemeHTTP
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: strings.ToLower(string(scheme)), Host: addr}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	} else {
		u.Path = path
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Output{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("User-Agent", "stash-hook")
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := hookClient.Do(req)
	if err != nil {
		return Output{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, responseTail))
	out := Output{Text: string(data)}
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return out, fmt.Errorf("%s %s: HTTP status %s", method, u, resp.Status)
	}
	return out, nil
}

// hookClient follows no redirect to another host's credentials: it is a
// plain client whose timeout is the hook's context.
var hookClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	},
}

// tcp opens a connection, as a TCP probe does.
func (r *Runner) tcp(ctx context.Context, s *corev1.TCPSocketAction) (Output, error) {
	addr, err := r.address(s.Host, s.Port)
	if err != nil {
		return Output{}, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Output{}, fmt.Errorf("connect to %s: %w", addr, err)
	}
	conn.Close()
	return Output{Text: "connected to " + addr}, nil
}

// address is host:port of a request: host, else the target pod's IP; the
// port by number, or by name among the pod's container ports.
func (r *Runner) address(host string, port intstr.IntOrString) (string, error) {
	p := r.Target.Pod
	if host == "" {
		if p == nil || p.Status.PodIP == "" {
			return "", errors.New("the hook names no host and no pod of the target runs: set the host, or start the target")
		}
		host = p.Status.PodIP
	}
	number, err := resolvePort(port, p)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(number)), nil
}

// resolvePort is a port by number, or a named container port of pod.
func resolvePort(port intstr.IntOrString, pod *corev1.Pod) (int, error) {
	if port.Type == intstr.Int {
		if number := int(port.IntVal); number < 1 || number > 65535 {
			return 0, fmt.Errorf("port %d is not a TCP port", number)
		}
		return int(port.IntVal), nil
	}
	if pod == nil {
		return 0, fmt.Errorf("port %q is a name, and no pod of the target runs to look it up in: give its number", port.StrVal)
	}
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == port.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s has no container port named %q", pod.Name, port.StrVal)
}

// postBody is an httpPost's body: body as given, or the form url-encoded.
func postBody(p *stashv1beta1.HTTPPostAction) (io.Reader, string) {
	if len(p.Form) > 0 {
		form := url.Values{}
		for _, f := range p.Form {
			for _, v := range f.Values {
				form.Add(f.Key, v)
			}
		}
		return strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	if p.Body != "" {
		return strings.NewReader(p.Body), ""
	}
	return nil, ""
}

func hasHeader(headers []corev1.HTTPHeader, name string) bool {
	for _, h := range headers {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}
