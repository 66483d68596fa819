// Command kube-harness runs a real Kubernetes control plane for tests in one
// process: an embedded etcd, kube-apiserver (k8s.io/kubernetes v1.36.3) and a
// kube-controller-manager limited to the namespace and garbage-collector
// controllers. Everything listens on 127.0.0.1 only.
//
// Output contract (see docs/kube-harness.md):
//   - stdout: exactly one line `READY https://127.0.0.1:<port> <kubeconfig>`
//     once /readyz is ok; nothing else.
//   - stderr (or --log-file): component logs; fatal problems are reported as a
//     single line starting with "kube-harness: error:" and a non-zero exit.
//
// The process stops cleanly on SIGTERM/SIGINT and when its stdin reaches EOF
// (when stdin is a pipe, socket or terminal), so a parent that dies without
// cleaning up never leaves it behind. A temporary data dir is removed on exit.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	apiapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apioptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

var users = []struct{ name, groups string }{
	{"admin", "system:masters"},
	{"alice", "cnpg-users"},
	{"bob", "cnpg-users"},
	{"nobody", ""},
}

// errOut is the original stderr, kept even when --log-file redirects fd 2.
var errOut io.Writer = os.Stderr

func fail(format string, a ...any) {
	fmt.Fprintf(errOut, "kube-harness: error: "+format+"\n", a...)
}

func note(format string, a ...any) {
	fmt.Fprintf(errOut, "kube-harness: "+format+"\n", a...)
}

type config struct {
	dataDir        string
	port           int
	kubeconfigOut  string
	logFile        string
	readyTimeout   time.Duration
	verbosity      int
	noKCM          bool
	serviceAccount bool
	watchStdin     string
	tempDir        bool
	shutdownWindow time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var cfg config
	fs := flag.NewFlagSet("kube-harness", flag.ContinueOnError)
	fs.StringVar(&cfg.dataDir, "data-dir", os.Getenv("KUBE_HARNESS_DATA_DIR"), "state directory (default: a new temp dir, removed on exit)")
	fs.IntVar(&cfg.port, "port", 0, "apiserver https port on 127.0.0.1 (0 = pick a free port)")
	fs.StringVar(&cfg.kubeconfigOut, "kubeconfig-out", "", "where to write the kubeconfig (default <data-dir>/kubeconfig)")
	fs.StringVar(&cfg.logFile, "log-file", "", "append component logs (apiserver, etcd, controller-manager) to this file instead of stderr")
	fs.DurationVar(&cfg.readyTimeout, "ready-timeout", 120*time.Second, "deadline for /readyz to become ok")
	fs.IntVar(&cfg.verbosity, "v", 0, "klog verbosity of the embedded components")
	fs.BoolVar(&cfg.noKCM, "no-controller-manager", false, "do not run the embedded kube-controller-manager (namespace + garbage-collector controllers)")
	fs.BoolVar(&cfg.serviceAccount, "service-accounts", true, "enable the ServiceAccount admission plugin and the serviceaccount, token and root-CA-publisher controllers, so pods get API tokens (needed by a real node); false = the plugin is disabled as in envtest")
	fs.StringVar(&cfg.watchStdin, "watch-stdin", "auto", "exit when stdin reaches EOF: auto (when stdin is a pipe, socket or tty), true, false")
	fs.DurationVar(&cfg.shutdownWindow, "shutdown-timeout", 10*time.Second, "how long to wait for the apiserver to stop gracefully")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fail("unexpected arguments: %v", fs.Args())
		return 2
	}

	// Redirect fd 2 to the log file, keeping the original stderr for our own lines.
	if cfg.logFile != "" {
		if err := redirectStderr(cfg.logFile); err != nil {
			fail("cannot open --log-file %s: %v", cfg.logFile, err)
			return 1
		}
	}

	// Data dir.
	if cfg.dataDir == "" {
		d, err := os.MkdirTemp("", "kube-harness-")
		if err != nil {
			fail("cannot create temp dir: %v", err)
			return 1
		}
		cfg.dataDir, cfg.tempDir = d, true
	} else {
		abs, err := filepath.Abs(cfg.dataDir)
		if err == nil {
			cfg.dataDir = abs
		}
		if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
			fail("cannot create --data-dir %s: %v", cfg.dataDir, err)
			return 1
		}
	}
	if cfg.kubeconfigOut == "" {
		cfg.kubeconfigOut = filepath.Join(cfg.dataDir, "kubeconfig")
	}
	if abs, err := filepath.Abs(cfg.kubeconfigOut); err == nil {
		cfg.kubeconfigOut = abs
	}

	h := &harness{cfg: cfg, done: make(chan struct{})}
	// Components exit through klog (Fatal, FlushAndExit), e.g. the namespace controller when the
	// apiserver goes away while it starts. During our own shutdown that is ignored (the goroutine
	// just parks); otherwise report it, remove the temp dir and exit with the component's code.
	klog.OsExit = func(exitCode int) {
		if h.shuttingDown.Load() {
			select {}
		}
		fail("an embedded component exited fatally (code %d); see the component log", exitCode)
		if h.cfg.tempDir {
			_ = os.RemoveAll(h.cfg.dataDir)
		}
		os.Exit(exitCode)
	}
	code := h.start()
	return code
}

type harness struct {
	cfg       config
	etcd      *embed.Etcd
	cancel    context.CancelFunc
	apiDone   chan error
	done      chan struct{}
	cleanOnce sync.Once
	// set once shutdown starts
	shuttingDown atomic.Bool
}

// cleanup stops etcd and removes the temp dir. Safe to call more than once.
func (h *harness) cleanup() {
	h.shuttingDown.Store(true)
	h.cleanOnce.Do(func() {
		if h.cancel != nil {
			h.cancel()
		}
		if h.apiDone != nil {
			select {
			case <-h.apiDone:
			case <-time.After(h.cfg.shutdownWindow):
				note("apiserver did not stop within %s; continuing shutdown", h.cfg.shutdownWindow)
			}
		}
		if h.etcd != nil {
			stopped := make(chan struct{})
			go func() { h.etcd.Close(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
				note("etcd did not stop within 5s; continuing shutdown")
			}
		}
		if h.cfg.tempDir {
			if err := os.RemoveAll(h.cfg.dataDir); err != nil {
				note("could not remove temp dir %s: %v", h.cfg.dataDir, err)
			}
		}
	})
}

func (h *harness) start() int {
	cfg := h.cfg

	// Signals and stdin EOF both trigger shutdown.
	stop := make(chan string, 4)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		n := 0
		for s := range sigs {
			n++
			if n > 1 { // second signal: give up on graceful shutdown
				note("second signal (%v): exiting immediately", s)
				if h.cfg.tempDir {
					_ = os.RemoveAll(h.cfg.dataDir)
				}
				os.Exit(1)
			}
			stop <- "signal " + s.String()
		}
	}()
	if shouldWatchStdin(cfg.watchStdin) {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- "stdin closed"
		}()
	}

	// Anything that fails during startup goes through here.
	failed := make(chan string, 4)
	code := make(chan int, 1)
	go func() {
		if err := h.boot(failed); err != "" {
			failed <- err
		}
	}()

	go func() {
		select {
		case reason := <-stop:
			note("stopping (%s)", reason)
			h.cleanup()
			code <- 0
		case msg := <-failed:
			fail("%s", msg)
			h.cleanup()
			code <- 1
		}
	}()
	return <-code
}

// boot starts etcd, the apiserver and the controller manager and prints READY.
// It returns a one-line error message on failure.
func (h *harness) boot(failed chan<- string) string {
	cfg := h.cfg
	certDir := filepath.Join(cfg.dataDir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Sprintf("cannot create %s: %v", certDir, err)
	}

	// 1. Listener for the apiserver, bound up-front so "port in use" is reported clearly.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.port)))
	if err != nil {
		return fmt.Sprintf("cannot listen on 127.0.0.1:%d (port in use?): %v", cfg.port, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	server := fmt.Sprintf("https://127.0.0.1:%d", port)

	// 2. Tokens and service-account keys.
	tokens := map[string]string{}
	tokenCSV := ""
	for _, u := range users {
		t := randomToken()
		tokens[u.name] = t
		line := fmt.Sprintf("%s,%s,uid-%s", t, u.name, u.name)
		if u.groups != "" {
			line += fmt.Sprintf(",%q", u.groups)
		}
		tokenCSV += line + "\n"
	}
	tokenFile := filepath.Join(cfg.dataDir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(tokenCSV), 0o600); err != nil {
		return fmt.Sprintf("cannot write %s: %v", tokenFile, err)
	}
	saKey, saPub := filepath.Join(cfg.dataDir, "sa.key"), filepath.Join(cfg.dataDir, "sa.pub")
	if err := writeServiceAccountKeys(saKey, saPub); err != nil {
		return fmt.Sprintf("cannot write service-account keys: %v", err)
	}

	// 3. etcd.
	etcdURL, err := h.startEtcd()
	if err != nil {
		return fmt.Sprintf("etcd failed to start: %v", err)
	}

	// 4. kube-apiserver.
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--cert-dir=" + certDir,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--authorization-mode=RBAC",
		"--token-auth-file=" + tokenFile,
		"--anonymous-auth=false",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--allow-privileged=true",
		"--profiling=false",
		// A real node (test/support/node/) reaches the kubelet at its InternalIP (the node's own
		// address) for logs and exec, and webhooks at the addresses of their Service's EndpointSlice
		// (the API server runs outside the node's network namespace: there is no route to ClusterIPs).
		"--kubelet-preferred-address-types=InternalIP",
		"--enable-aggregator-routing=true",
		// Namespaces annotated scheduler.alpha.kubernetes.io/defaultTolerations give their pods the
		// toleration for the real node's taint; pods elsewhere are never scheduled there.
		"--enable-admission-plugins=PodTolerationRestriction",
		"--v=" + strconv.Itoa(cfg.verbosity),
	}
	if !cfg.serviceAccount {
		args = append(args, "--disable-admission-plugins=ServiceAccount")
	}
	opts := apioptions.NewServerRunOptions()
	apiFlags := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	named := opts.Flags()
	globalflag.AddGlobalFlags(named.FlagSet("global"), "kube-apiserver", logs.SkipLoggingConfigurationFlags())
	for _, f := range named.FlagSets {
		apiFlags.AddFlagSet(f)
	}
	if err := apiFlags.Parse(args); err != nil {
		return fmt.Sprintf("apiserver flags: %v", err)
	}
	opts.SecureServing.Listener = ln
	opts.SecureServing.BindPort = port
	if err := opts.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return fmt.Sprintf("apiserver feature gates: %v", err)
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := logsapi.ValidateAndApply(opts.Logs, utilfeature.DefaultFeatureGate); err != nil {
		return fmt.Sprintf("apiserver logging: %v", err)
	}
	completed, err := opts.Complete(ctx)
	if err != nil {
		return fmt.Sprintf("apiserver options: %v", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Sprintf("apiserver options: %v", utilerrors.NewAggregate(errs))
	}
	h.apiDone = make(chan error, 1)
	go func() {
		err := apiapp.Run(ctx, completed)
		if ctx.Err() == nil {
			msg := "apiserver exited unexpectedly"
			if err != nil {
				msg = fmt.Sprintf("apiserver exited: %v", err)
			}
			failed <- msg
		}
		h.apiDone <- err
	}()

	// 5. Wait for /readyz.
	if err := waitReady(ctx, server, tokens["admin"], cfg.readyTimeout, h.apiDone); err != nil {
		return err.Error()
	}

	// 6. kubeconfig.
	caFile := filepath.Join(certDir, "apiserver.crt")
	if err := writeKubeconfig(cfg.kubeconfigOut, server, caFile, tokens); err != nil {
		return fmt.Sprintf("cannot write kubeconfig %s: %v", cfg.kubeconfigOut, err)
	}

	// 7. kube-controller-manager (namespace + garbage-collector) — best effort.
	if !cfg.noKCM {
		go func() {
			var extra []string
			if cfg.serviceAccount {
				extra = []string{"--service-account-private-key-file=" + saKey, "--root-ca-file=" + caFile}
			}
			if err := runControllerManager(ctx, cfg.kubeconfigOut, cfg.verbosity, extra); err != nil && ctx.Err() == nil {
				note("controller-manager stopped: %v (namespace deletion / GC will not complete)", err)
			}
		}()
	}

	fmt.Fprintf(os.Stdout, "READY %s %s\n", server, cfg.kubeconfigOut)
	return ""
}

func (h *harness) startEtcd() (string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		clientPort, err1 := freePort()
		peerPort, err2 := freePort()
		if err := errors.Join(err1, err2); err != nil {
			return "", err
		}
		ec := embed.NewConfig()
		ec.Name = "kube-harness"
		ec.Dir = filepath.Join(h.cfg.dataDir, "etcd")
		ec.LogLevel = "error"
		ec.LogOutputs = []string{"stderr"}
		ec.UnsafeNoFsync = true
		cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
		pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
		ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		ec.ListenMetricsUrls = nil
		ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
		ec.QuotaBackendBytes = 2 << 30
		e, err := embed.StartEtcd(ec)
		if err != nil {
			lastErr = err
			continue
		}
		select {
		case <-e.Server.ReadyNotify():
			h.etcd = e
			return cu.String(), nil
		case err := <-e.Err():
			e.Close()
			lastErr = err
		case <-time.After(60 * time.Second):
			e.Close()
			return "", errors.New("not ready within 60s")
		}
	}
	return "", lastErr
}

// runControllerManager runs the namespace and garbage-collector controllers; with serviceAccountArgs
// (the token signing key and root CA flags) also the serviceaccount, serviceaccount-token and
// root-ca-certificate-publisher controllers, which the ServiceAccount admission plugin relies on
// (every namespace gets its "default" ServiceAccount and kube-root-ca.crt ConfigMap).
func runControllerManager(ctx context.Context, kubeconfig string, verbosity int, serviceAccountArgs []string) error {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	named := s.Flags(kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases())
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	}
	controllers := "namespace-controller,garbage-collector-controller"
	if len(serviceAccountArgs) > 0 {
		controllers += ",serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller"
		args = append(args, serviceAccountArgs...)
	}
	args = append(args, "--controllers="+controllers)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	c, err := s.Config(ctx, kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases())
	if err != nil {
		return err
	}
	return kcmapp.Run(ctx, c.Complete())
}

func waitReady(ctx context.Context, server, token string, timeout time.Duration, apiDone <-chan error) error {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // local poll only
	}
	deadline := time.Now().Add(timeout)
	last := "no response"
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, firstFailedCheck(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return errors.New("cancelled while waiting for /readyz")
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("apiserver not ready within %s (last /readyz: %s)", timeout, last)
}

func firstFailedCheck(body string) string {
	for _, l := range splitLines(body) {
		if len(l) > 3 && l[:3] == "[-]" {
			return l
		}
	}
	return ""
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func writeKubeconfig(path, server, caFile string, tokens map[string]string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	for _, u := range users {
		kc.AuthInfos[u.name] = &clientcmdapi.AuthInfo{Token: tokens[u.name]}
		kc.Contexts[u.name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: u.name, Namespace: "default"}
	}
	kc.CurrentContext = "admin"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := clientcmd.WriteToFile(*kc, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeServiceAccountKeys(keyPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shouldWatchStdin decides whether stdin EOF means "parent is gone".
// In auto mode it is watched only for pipes, sockets and terminals, so that
// running with stdin=/dev/null (e.g. nohup, systemd) does not exit at once.
func shouldWatchStdin(mode string) bool {
	switch mode {
	case "true", "yes", "1":
		return true
	case "false", "no", "0":
		return false
	}
	st, err := os.Stdin.Stat()
	if err != nil {
		return false
	}
	m := st.Mode()
	if m&os.ModeNamedPipe != 0 || m&os.ModeSocket != 0 {
		return true
	}
	if m&os.ModeCharDevice != 0 {
		if dn, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, dn) {
			return false
		}
		return true
	}
	return false
}

func redirectStderr(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	orig, err := syscall.Dup(int(os.Stderr.Fd()))
	if err != nil {
		return err
	}
	errOut = os.NewFile(uintptr(orig), "stderr")
	if err := syscall.Dup2(int(f.Fd()), 2); err != nil {
		return err
	}
	return nil
}
