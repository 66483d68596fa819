// Command kube-node is a multi-call binary holding the node-side Kubernetes
// components the real-node test harness runs beside kube-harness:
//
//	kube-node kubelet [flags]
//	kube-node kube-scheduler [flags]
//	kube-node kube-controller-manager [flags]
//	kube-node kube-proxy [flags]
//
// One binary instead of four because they share almost all of their code: one
// link (~10 min cold on 2 cores) instead of four, and one cached file.
// Built by scripts/build-tools.mjs from the same k8s.io/kubernetes version and
// replace list as test/kube-apiserver (see docs/kube-harness.md).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // CronJob time zones, as in kube-controller-manager's own main

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var components = map[string]func() *cobra.Command{
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kube-controller-manager": func() *cobra.Command { return kcm.NewControllerManagerCommand() },
	"kube-proxy":              func() *cobra.Command { return proxy.NewProxyCommand() },
}

func main() {
	// Dispatch on argv[1], or on the program name when called through a symlink.
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, ok := components[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	newCommand, ok := components[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: kube-node kubelet|kube-scheduler|kube-controller-manager|kube-proxy [flags]")
		os.Exit(2)
	}
	command := newCommand()
	command.SetArgs(args)
	os.Exit(cli.Run(command))
}
