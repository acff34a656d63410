// Command signet is Signet's one binary: `signet dev` and `signet server` run
// the server parts; every other subcommand is the CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/signet-platform/signet/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "dev", "server":
			os.Exit(runServer(ctx, args[0], args[1:]))
		case "agent":
			os.Exit(runAgent(ctx, args[1:]))
		case "run":
			stop() // the command execs in our place; until then a signal ends us as it would it
			os.Exit(runApp(args[1:]))
		}
	}
	os.Exit(cli.Main(ctx, args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
