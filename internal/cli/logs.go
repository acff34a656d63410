package cli

import (
	"io"
	"strconv"
	"time"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "logs signins", args: "[--since 1h|RFC3339] [--principal P] [--result success|failure] [--top N]", summary: "show the sign-in log (token requests), newest first", run: runLogsSignIns},
		&command{path: "logs activity", args: "[--since 1h|RFC3339] [--principal P] [--result success|failure] [--top N]", summary: "show the activity log (control-plane writes), newest first", run: runLogsActivity},
	)
}

// parseSince reads --since as a duration back from now ("90m", "24h") or an
// RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, usagef("--since %q must be a positive duration", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("invalid --since %q (want a duration like 1h or an RFC 3339 time)", s)
	}
	return t, nil
}

// logFlags are the filters both logs share.
type logFlags struct {
	since     time.Time
	principal string
	result    string
	top       int
}

func parseLogFlags(name string, args []string) (logFlags, error) {
	fs := newFlagSet(name)
	since := fs.String("since", "", "only entries since this long ago or this time")
	principal := fs.String("principal", "", "only this principal (object id)")
	result := fs.String("result", "", "only success or failure")
	top := fs.Int("top", 0, "at most this many entries")
	if err := parse(fs, args); err != nil {
		return logFlags{}, err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return logFlags{}, err
	}
	if *result != "" && *result != "success" && *result != "failure" {
		return logFlags{}, usagef("invalid --result %q (want success or failure)", *result)
	}
	if *top < 0 {
		return logFlags{}, usagef("--top must not be negative")
	}
	return logFlags{since: from, principal: *principal, result: *result, top: *top}, nil
}

func runLogsSignIns(a *app, args []string) error {
	lf, err := parseLogFlags("logs signins", args)
	if err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	entries, err := c.ListSignIns(a.ctx, client.SignInFilter{Since: lf.since, PrincipalID: lf.principal, Result: lf.result, Top: lf.top})
	if err != nil {
		return err
	}
	raws := make([]any, 0, len(entries))
	for _, e := range entries {
		raws = append(raws, rawOr(e.Raw, e))
	}
	return a.emit(raws, func(w io.Writer) error {
		t := newTable(w, "TIME", "RESULT", "PRINCIPAL ID", "CLIENT ID", "RESOURCE", "ERROR", "REASON")
		for _, e := range entries {
			t.row(formatTime(e.Time), e.Result, e.PrincipalID, e.ClientID, e.Resource, e.ErrorCode, e.Reason)
		}
		return t.flush()
	})
}

func runLogsActivity(a *app, args []string) error {
	lf, err := parseLogFlags("logs activity", args)
	if err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	events, err := c.ListActivity(a.ctx, client.ActivityFilter{Since: lf.since, PrincipalID: lf.principal, Result: lf.result, Top: lf.top})
	if err != nil {
		return err
	}
	raws := make([]any, 0, len(events))
	for _, e := range events {
		raws = append(raws, rawOr(e.Raw, e))
	}
	return a.emit(raws, func(w io.Writer) error {
		t := newTable(w, "TIME", "RESULT", "STATUS", "CALLER", "OPERATION", "RESOURCE")
		for _, e := range events {
			status := ""
			if e.Status != 0 {
				status = strconv.Itoa(e.Status)
			}
			t.row(formatTime(e.Time), e.Result, status, e.CallerID, e.Operation, e.ResourceID)
		}
		return t.flush()
	})
}
