// Command clusterdns is the local test cluster's DNS server
// (hack/local-cluster.sh): there is no CoreDNS image here, so this answers
// A queries for <service>.<namespace>.svc.<domain> with the Service's
// ClusterIP, from a copy of the Services it polls from the apiserver.
// Every other name gets NXDOMAIN at once: pods have no other DNS to reach.
// Headless Services (no ClusterIP) and pod names are not served.
//
// It is its own module (no client-go) so that the main module's go.mod does
// not change; build it with GOWORK=off from this directory.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func main() {
	listen := flag.String("listen", "10.244.0.1:53", "UDP and TCP address to serve")
	server := flag.String("server", "https://10.244.0.1:6443", "apiserver URL")
	caFile := flag.String("ca", "", "CA bundle of the apiserver")
	certFile := flag.String("cert", "", "client certificate (may list Services)")
	keyFile := flag.String("key", "", "client key")
	domain := flag.String("domain", "cluster.local", "cluster domain")
	interval := flag.Duration("interval", 2*time.Second, "how often to re-read the Services")
	ttl := flag.Uint("ttl", 5, "TTL of the answers, in seconds")
	flag.Parse()

	client, err := apiClient(*caFile, *certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	s := &dnsServer{
		suffix: ".svc." + strings.Trim(strings.ToLower(*domain), ".") + ".",
		ttl:    uint32(*ttl),
		fetch:  func(ctx context.Context) (map[string]netip.Addr, error) { return services(ctx, client, *server) },
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.refresh(ctx); err != nil {
		log.Printf("first read of the Services: %v", err)
	}
	go func() {
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(*interval):
				if err := s.refresh(ctx); err != nil && ctx.Err() == nil {
					log.Printf("reading the Services: %v", err)
				}
			}
		}
	}()

	pc, err := net.ListenPacket("udp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go s.serveUDP(pc)
	go s.serveTCP(ln)
	log.Printf("serving *%s on %s (udp, tcp)", s.suffix, *listen)
	<-ctx.Done()
	_ = pc.Close()
	_ = ln.Close()
}

func apiClient(caFile, certFile, keyFile string) (*http.Client, error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s: no certificate", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}, nil
}

// services reads every Service: "name.namespace" -> ClusterIP (IPv4 only).
func services(ctx context.Context, c *http.Client, server string) (map[string]netip.Addr, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/api/v1/services", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/services: %s", resp.Status)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name, Namespace string } `json:"metadata"`
			Spec     struct {
				ClusterIP string `json:"clusterIP"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	m := make(map[string]netip.Addr, len(list.Items))
	for _, it := range list.Items {
		if ip, err := netip.ParseAddr(it.Spec.ClusterIP); err == nil && ip.Is4() {
			m[it.Metadata.Name+"."+it.Metadata.Namespace] = ip
		}
	}
	return m, nil
}

type dnsServer struct {
	suffix string // ".svc.cluster.local."
	ttl    uint32
	fetch  func(context.Context) (map[string]netip.Addr, error)

	mu       sync.RWMutex
	records  map[string]netip.Addr
	lastRead time.Time
	// rereading is held by the one miss that re-reads the Services.
	rereading sync.Mutex
}

func (s *dnsServer) refresh(ctx context.Context) error {
	m, err := s.fetch(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.records, s.lastRead = m, time.Now()
	s.mu.Unlock()
	return nil
}

// lookup finds a Service; on a miss it re-reads the Services once (at most
// every 200 ms), so a Service created just before the query is found.
func (s *dnsServer) lookup(key string) (netip.Addr, bool) {
	s.mu.RLock()
	ip, ok := s.records[key]
	age := time.Since(s.lastRead)
	n := len(s.records)
	s.mu.RUnlock()
	if ok {
		return ip, ok
	}
	if age < 200*time.Millisecond {
		// Every miss is logged: a name that should resolve and did not
		// is what a flaky test's log must show.
		log.Printf("no Service %s among %d read %v ago", key, n, age.Round(time.Millisecond))
		return ip, ok
	}
	// One re-read at a time: the misses that arrive meanwhile wait for it.
	s.rereading.Lock()
	defer s.rereading.Unlock()
	s.mu.RLock()
	fresh := time.Since(s.lastRead) < 200*time.Millisecond
	s.mu.RUnlock()
	if !fresh {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := s.refresh(ctx); err != nil {
			log.Printf("no Service %s: re-reading the Services failed: %v", key, err)
			return netip.Addr{}, false
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ip, ok = s.records[key]
	if !ok {
		log.Printf("no Service %s among %d", key, len(s.records))
	}
	return ip, ok
}

func (s *dnsServer) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// Each query on its own: a miss that re-reads the Services must not
		// hold back the hits queued behind it (a client whose A answer
		// comes late, with its AAAA answered, gives up with "Name or
		// service not known").
		query := append([]byte(nil), buf[:n]...)
		go func() {
			if out, err := s.answer(query); err == nil {
				_, _ = pc.WriteTo(out, addr)
			}
		}()
	}
}

func (s *dnsServer) serveTCP(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go func() {
			defer conn.Close()
			for {
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				var l [2]byte
				if _, err := readFull(conn, l[:]); err != nil {
					return
				}
				msg := make([]byte, int(l[0])<<8|int(l[1]))
				if _, err := readFull(conn, msg); err != nil {
					return
				}
				out, err := s.answer(msg)
				if err != nil {
					return
				}
				if _, err := conn.Write(append([]byte{byte(len(out) >> 8), byte(len(out))}, out...)); err != nil {
					return
				}
			}
		}()
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// answer builds the reply to one query message.
func (s *dnsServer) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	name := strings.ToLower(q.Name.String())
	var ip netip.Addr
	found := false
	if key, ok := strings.CutSuffix(name, s.suffix); ok && q.Class == dnsmessage.ClassINET && strings.Count(key, ".") == 1 {
		ip, found = s.lookup(key)
	}
	if !found {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	// The name exists: A gets the ClusterIP, other types an empty answer.
	if found && (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL) {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: s.ttl}
		if err := b.AResource(rr, dnsmessage.AResource{A: ip.As4()}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
