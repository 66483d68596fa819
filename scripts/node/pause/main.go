// The pause process of the real node's pod sandboxes (image localhost/pause:kmcp-1, built by
// scripts/node/images.mjs). It holds the pod's namespaces open and does nothing else: it sleeps until
// SIGTERM or SIGINT and, being PID 1 of the pod when the PID namespace is shared, reaps every child
// that is re-parented to it so no zombie is left behind.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("pause kmcp-1")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reapChildren()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: %v, exiting\n", sig)
		os.Exit(0)
	}
}
