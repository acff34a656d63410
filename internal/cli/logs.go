package cli

import (
	"io"
	"time"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "logs signins", args: "[--since 1h|RFC3339] [--principal P] [--result success|failure] [--top N]", summary: "show the sign-in log (token requests), newest first", run: runLogsSignIns},
		&command{path: "logs activity", args: "[--since 1h|RFC3339] [--top N]", summary: "show the activity log (control-plane writes), newest first", run: runLogsActivity},
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

func runLogsSignIns(a *app, args []string) error {
	fs := newFlagSet("logs signins")
	since := fs.String("since", "", "only entries since this long ago or this time")
	principal := fs.String("principal", "", "only this principal (object id)")
	result := fs.String("result", "", "only success or failure")
	top := fs.Int("top", 0, "at most this many entries")
	if err := parse(fs, args); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return err
	}
	if *result != "" && *result != "success" && *result != "failure" {
		return usagef("invalid --result %q (want success or failure)", *result)
	}
	if *top < 0 {
		return usagef("--top must not be negative")
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	entries, err := c.ListSignIns(a.ctx, client.SignInFilter{Since: from, PrincipalID: *principal, Result: *result, Top: *top})
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
	fs := newFlagSet("logs activity")
	since := fs.String("since", "", "only entries since this long ago or this time")
	top := fs.Int("top", 0, "at most this many entries")
	if err := parse(fs, args); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return err
	}
	if *top < 0 {
		return usagef("--top must not be negative")
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	events, err := c.ListActivity(a.ctx, client.ActivityFilter{Since: from, Top: *top})
	if err != nil {
		return err
	}
	raws := make([]any, 0, len(events))
	for _, e := range events {
		raws = append(raws, rawOr(e.Raw, e))
	}
	return a.emit(raws, func(w io.Writer) error {
		t := newTable(w, "TIME", "STATUS", "CODE", "CALLER", "OPERATION", "RESOURCE")
		for _, e := range events {
			t.row(formatTime(e.EventTimestamp), e.Status.Value, statusCode(e), e.Caller, e.OperationName.Value, e.ResourceID)
		}
		return t.flush()
	})
}

// statusCode is the HTTP status of an activity event: properties.statusCode
// as Azure Monitor writes it, else the subStatus.
func statusCode(e client.ActivityEvent) string {
	if code := e.Properties["statusCode"]; code != "" {
		return code
	}
	return e.SubStatus.Value
}
