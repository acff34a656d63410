package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
)

const logFilterArgs = "[--since 1h|RFC3339] [--until 1h|RFC3339] [--principal P] [--resource R] [--operation O] " +
	"[--result success|failure] [--token-id U] [--top N]"

func init() {
	register(
		&command{path: "logs signins", args: logFilterArgs, summary: "show the sign-in log (token requests), newest first", run: runLogsSignIns},
		&command{path: "logs activity", args: logFilterArgs, summary: "show the activity log (control-plane writes), newest first", run: runLogsActivity},
		&command{path: "logs access", args: logFilterArgs, summary: "show the data-access log (secrets and blobs touched), newest first", run: runLogsAccess},
		&command{path: "logs export", args: "--stream signins|activity|access [filters as for logs signins, without --top]", summary: "write a log as JSON Lines to standard output", run: runLogsExport},
		&command{path: "logs verify", args: "[--stream signins|activity|access]", summary: "check the logs' hash chains; exit 1 naming the first altered, inserted or deleted record", run: runLogsVerify},
	)
}

// parseSince reads --since as a duration back from now ("90m", "24h") or an
// RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	return parseLogTime("since", s, now)
}

func parseLogTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, usagef("--%s %q must be a positive duration", flag, s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("invalid --%s %q (want a duration like 1h or an RFC 3339 time)", flag, s)
	}
	return t, nil
}

// parseLogFlags reads the filters every log shares. stream is "" for the
// listing commands (which read --stream nowhere); export asks for it.
func parseLogFlags(name string, args []string, withStream, withTop bool) (client.LogFilter, string, error) {
	fs := newFlagSet(name)
	since := fs.String("since", "", "only entries since this long ago or this time")
	until := fs.String("until", "", "only entries before this long ago or this time")
	principal := fs.String("principal", "", "only this principal (object id): who signed in, wrote or accessed")
	resource := fs.String("resource", "", "sign-ins: the resource asked for; activity and access: at or below this ARM scope")
	operation := fs.String("operation", "", "activity: the operation; access: the data action")
	result := fs.String("result", "", "only success or failure")
	tokenID := fs.String("token-id", "", "only this token (its uti): its sign-in, or the accesses made with it")
	top := new(int)
	if withTop {
		top = fs.Int("top", 0, "at most this many entries")
	}
	stream := new(string)
	if withStream {
		stream = fs.String("stream", "", "signins, activity or access")
	}
	if err := parse(fs, args); err != nil {
		return client.LogFilter{}, "", err
	}
	now := time.Now()
	from, err := parseLogTime("since", *since, now)
	if err != nil {
		return client.LogFilter{}, "", err
	}
	to, err := parseLogTime("until", *until, now)
	if err != nil {
		return client.LogFilter{}, "", err
	}
	if *result != "" && *result != "success" && *result != "failure" {
		return client.LogFilter{}, "", usagef("invalid --result %q (want success or failure)", *result)
	}
	if *top < 0 {
		return client.LogFilter{}, "", usagef("--top must not be negative")
	}
	if withStream {
		switch *stream {
		case client.StreamSignIns, client.StreamActivity, client.StreamAccess:
		case "":
			return client.LogFilter{}, "", usagef("--stream is required (signins, activity or access)")
		default:
			return client.LogFilter{}, "", usagef("invalid --stream %q (want signins, activity or access)", *stream)
		}
	}
	f := client.LogFilter{Since: from, Until: to, PrincipalID: *principal, ResourceID: *resource,
		Operation: *operation, Result: *result, TokenID: *tokenID, Top: *top}
	return f, *stream, nil
}

// listLogs is one `signet logs <stream>` command: the shared filters, one
// list call, the records as JSON or as a table.
func listLogs[T any](a *app, name string, args []string,
	list func(*client.Client, client.LogFilter) ([]T, error),
	raw func(T) any, header []string, row func(T) []string) error {
	f, _, err := parseLogFlags(name, args, false, true)
	if err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	entries, err := list(c, f)
	if err != nil {
		return err
	}
	raws := make([]any, 0, len(entries))
	for _, e := range entries {
		raws = append(raws, raw(e))
	}
	return a.emit(raws, func(w io.Writer) error {
		t := newTable(w, header...)
		for _, e := range entries {
			t.row(row(e)...)
		}
		return t.flush()
	})
}

func runLogsSignIns(a *app, args []string) error {
	// The token id is in --output json (and --token-id finds it).
	return listLogs(a, "logs signins", args,
		func(c *client.Client, f client.LogFilter) ([]client.SignIn, error) { return c.ListSignIns(a.ctx, f) },
		func(e client.SignIn) any { return rawOr(e.Raw, e) },
		[]string{"TIME", "RESULT", "PRINCIPAL ID", "CLIENT ID", "RESOURCE", "ERROR", "REASON"},
		func(e client.SignIn) []string {
			return []string{formatTime(e.Time), e.Result, e.PrincipalID, e.ClientID, e.Resource, e.ErrorCode, e.Reason}
		})
}

func runLogsActivity(a *app, args []string) error {
	return listLogs(a, "logs activity", args,
		func(c *client.Client, f client.LogFilter) ([]client.ActivityEvent, error) {
			return c.ListActivity(a.ctx, f)
		},
		func(e client.ActivityEvent) any { return rawOr(e.Raw, e) },
		[]string{"TIME", "RESULT", "STATUS", "CALLER", "OPERATION", "RESOURCE"},
		func(e client.ActivityEvent) []string {
			return []string{formatTime(e.Time), e.Result, status(e.Status), e.CallerID, e.Operation, e.ResourceID}
		})
}

func runLogsAccess(a *app, args []string) error {
	return listLogs(a, "logs access", args,
		func(c *client.Client, f client.LogFilter) ([]client.AccessEntry, error) {
			return c.ListAccessLogs(a.ctx, f)
		},
		func(e client.AccessEntry) any { return rawOr(e.Raw, e) },
		[]string{"TIME", "RESULT", "STATUS", "CALLER", "ACTION", "RESOURCE", "ITEM", "TOKEN ID"},
		func(e client.AccessEntry) []string {
			return []string{formatTime(e.Time), e.Result, status(e.Status), e.CallerID, e.Action, e.ResourceID, e.Item, e.TokenID}
		})
}

func status(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// runLogsExport streams the log to standard output as JSON Lines; --output
// does not apply (the lines are the server's records, unchanged).
func runLogsExport(a *app, args []string) error {
	f, stream, err := parseLogFlags("logs export", args, true, false)
	if err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	_, err = c.ExportLogs(a.ctx, stream, f, a.stdout)
	return err
}

func runLogsVerify(a *app, args []string) error {
	fs := newFlagSet("logs verify")
	stream := fs.String("stream", "", "check only this stream: signins, activity or access")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *stream {
	case "", client.StreamSignIns, client.StreamActivity, client.StreamAccess:
	default:
		return usagef("invalid --stream %q (want signins, activity or access)", *stream)
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	res, err := c.VerifyLogs(a.ctx, *stream)
	if err != nil {
		return err
	}
	names := []string{client.StreamSignIns, client.StreamActivity, client.StreamAccess}
	var broken []error
	for _, n := range names {
		if r, ok := res[n]; ok && !r.OK {
			broken = append(broken, fmt.Errorf("%s: %s", n, describeFault(r.FirstBad)))
		}
	}
	if err := a.emit(res, func(w io.Writer) error {
		t := newTable(w, "STREAM", "OK", "CHECKED", "HEAD", "PRUNED THROUGH", "FIRST BAD")
		for _, n := range names {
			r, ok := res[n]
			if !ok {
				continue
			}
			bad := ""
			if !r.OK {
				bad = describeFault(r.FirstBad)
			}
			t.row(n, strconv.FormatBool(r.OK), strconv.FormatInt(r.Checked, 10), strconv.FormatInt(r.HeadSeq, 10),
				strconv.FormatInt(r.PrunedThrough, 10), bad)
		}
		return t.flush()
	}); err != nil {
		return err
	}
	if len(broken) > 0 {
		return fmt.Errorf("audit log chain broken: %w", errors.Join(broken...))
	}
	return nil
}

func describeFault(f *client.ChainFault) string {
	if f == nil {
		return "broken (no detail)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "record seq %d", f.Seq)
	if f.ID != "" {
		fmt.Fprintf(&b, " (id %s)", f.ID)
	}
	b.WriteString(": " + f.Reason)
	return b.String()
}
