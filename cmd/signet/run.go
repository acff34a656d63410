package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/signet-platform/signet/internal/agent/host"
)

const runUsage = "usage: signet run [--state-dir D] --app <app resource id> -- command [args...]"

// runApp is `signet run`: it replaces itself with command, whose
// environment points the SDKs at the local agent's App Service endpoint
// with the app's secret, so the command gets the app's identities.
func runApp(args []string) int {
	fs := flag.NewFlagSet("signet run", flag.ContinueOnError)
	stateDir := fs.String("state-dir", stateDirDefault(), "the agent's state directory")
	app := fs.String("app", "", "resource id of the app (Microsoft.Web/sites) to run as")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println(runUsage)
			return 0
		}
		fmt.Fprintln(os.Stderr, runUsage)
		return 2
	}
	command := fs.Args()
	if *app == "" || len(command) == 0 {
		fmt.Fprintln(os.Stderr, "signet run: --app and a command are required\n"+runUsage)
		return 2
	}
	env, err := host.RunEnv(*stateDir, *app, os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "signet run: %v\n", err)
		return 1
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "signet run: %v\n", err)
		return 127
	}
	// Exec, not a child: the command gets signals and its exit status
	// reaches the caller without a relay in between.
	err = syscall.Exec(path, command, env)
	fmt.Fprintf(os.Stderr, "signet run: exec %s: %v\n", path, err)
	return 126
}
