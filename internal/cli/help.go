package cli

import (
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
)

// Version is the CLI's version; the build may set it with
// -ldflags "-X github.com/signet-platform/signet/internal/cli.Version=v1.2.3".
var Version = ""

func init() {
	register(
		&command{path: "version", args: "", summary: "print the version", run: runVersion},
		&command{path: "help", args: "[command]", summary: "show help for a command", run: runHelp},
	)
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func runVersion(a *app, args []string) error {
	if err := parse(newFlagSet("version"), args); err != nil {
		return err
	}
	_, err := fmt.Fprintf(a.stdout, "signet %s\n", version())
	return err
}

func runHelp(a *app, args []string) error {
	if len(args) == 0 {
		writeOverview(a.stdout)
		return nil
	}
	prefix := strings.Join(args, " ")
	var found bool
	for _, c := range commands {
		if c.path == prefix || strings.HasPrefix(c.path, prefix+" ") {
			fmt.Fprintf(a.stdout, "%s\n    %s\n", c.usage(), c.summary)
			found = true
		}
	}
	if !found {
		return usagef("unknown command %q", prefix)
	}
	return nil
}

func writeOverview(w io.Writer) {
	fmt.Fprint(w, "usage: signet <command> [flags]\n\ncommands:\n")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	sorted := slices.Clone(commands)
	slices.SortStableFunc(sorted, func(a, b *command) int { return strings.Compare(a.path, b.path) })
	for _, c := range sorted {
		fmt.Fprintf(tw, "  %s\t%s\n", c.path, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\n"+globalUsage+"\nRun 'signet help <command>' for a command's flags.\n")
}
