package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/signet-platform/signet/client"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one leaf of the command tree, e.g. "vm identity assign".
type command struct {
	path    string // words after "signet"
	args    string // synopsis of its flags
	summary string
	run     func(a *app, args []string) error
}

func (c *command) usage() string { return "usage: signet " + c.path + " " + c.args }

// commands lists every command; order is the order of `signet help`.
var commands = []*command{}

// register adds commands; each noun's file calls it from init.
func register(cs ...*command) { commands = append(commands, cs...) }

// usageError is a mistake in how a command was invoked (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// app is what a running command needs: its streams, its options and a
// lazily built client (commands like version and help need no config).
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	output       string // "json" or "table"
	envFile      string
	subscription string

	client *client.Client
}

// Main runs the CLI with args (without the program name) and returns the
// process exit status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	rest, err := a.parseGlobals(args)
	if err != nil {
		fmt.Fprintf(stderr, "signet: %v\n", err)
		fmt.Fprint(stderr, globalUsage)
		return exitUsage
	}
	if len(rest) == 0 {
		writeOverview(stderr)
		return exitUsage
	}
	cmd, cmdArgs := lookup(rest)
	if cmd == nil {
		fmt.Fprintf(stderr, "signet: unknown command %q\n", strings.Join(leadingWords(rest), " "))
		fmt.Fprintln(stderr, "Run 'signet help' for the list of commands.")
		return exitUsage
	}
	err = cmd.run(a, cmdArgs)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, cmd.usage())
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "signet: %v\n%s\n", err, cmd.usage())
		return exitUsage
	default:
		fmt.Fprintf(stderr, "signet: %s\n", strings.TrimPrefix(err.Error(), "client: "))
		return exitError
	}
}

const globalUsage = `global flags (before or after the command):
  --output json|table   output format (default: table on a terminal, else json)
  --env-file PATH       env file to read (default: $SIGNET_ENV_FILE, else ~/.signet/dev/env)
  --subscription ID     subscription (default: $SIGNET_SUBSCRIPTION_ID)
`

// parseGlobals takes the global flags out of args wherever they are (before
// "--"), so `signet --output json vm list` and `signet vm list --output json`
// both work.
func (a *app) parseGlobals(args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || !slices.Contains([]string{"output", "o", "env-file", "subscription"}, name) {
			rest = append(rest, arg)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", arg)
			}
			i++
			value = args[i]
		}
		switch name {
		case "output", "o":
			if value != "json" && value != "table" {
				return nil, fmt.Errorf("invalid --output %q (want json or table)", value)
			}
			a.output = value
		case "env-file":
			a.envFile = value
		case "subscription":
			a.subscription = value
		}
	}
	if a.output == "" {
		a.output = "json"
		if isTerminal(a.stdout) {
			a.output = "table"
		}
	}
	return rest, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// lookup finds the command named by the longest run of leading words.
func lookup(args []string) (*command, []string) {
	words := leadingWords(args)
	for n := len(words); n > 0; n-- {
		path := strings.Join(words[:n], " ")
		for _, c := range commands {
			if c.path == path {
				return c, args[n:]
			}
		}
	}
	return nil, nil
}

func leadingWords(args []string) []string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	return words
}

// newFlagSet makes a flag set that reports errors to the caller instead of
// printing them, so Main owns every line written to stderr.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses a command's flags; stray positional arguments are a usage
// error rather than silently ignored.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// required fails with a usage error naming the first empty flag.
func required(flags ...[2]string) error {
	for _, f := range flags {
		if f[1] == "" {
			return usagef("--%s is required", f[0])
		}
	}
	return nil
}
