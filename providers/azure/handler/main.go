// Command handler is modelfn's Azure Functions custom handler: the
// executable host.json names, started by the Functions host in the app's
// root with FUNCTIONS_CUSTOMHANDLER_PORT set.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelfn/modelfn/providers/azure"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := azure.Main(ctx, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "modelfn handler:", err)
		os.Exit(1)
	}
}
