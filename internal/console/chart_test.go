package console

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/client"
)

var fixedHour = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func TestHourlyChart(t *testing.T) {
	at := func(h, m int) time.Time {
		return fixedHour.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	signIns := []client.SignIn{
		{Time: at(0, 5), Result: "success"},
		{Time: at(0, 59), Result: "failure"},
		{Time: at(3, 0), Result: "success"},
		{Time: at(3, 30), Result: "success"},
		{Time: at(3, 31), Result: "success"},
		{Time: at(3, 32), Result: "failure"},
		{Time: at(23, 59), Result: "failure"},
		{Time: at(-1, 0), Result: "success"}, // before the window
		{Time: at(24, 0), Result: "success"}, // after it
	}
	c := hourlyChart(signIns, fixedHour)
	if len(c.Bars) != chartHours {
		t.Fatalf("%d bars, want %d", len(c.Bars), chartHours)
	}
	type counts struct{ Ok, Fail int }
	got := map[int]counts{}
	for i, b := range c.Bars {
		if b.Ok+b.Fail > 0 {
			got[i] = counts{b.Ok, b.Fail}
		}
	}
	want := map[int]counts{0: {1, 1}, 3: {3, 1}, 23: {0, 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("buckets (-want +got):\n%s", d)
	}
	if c.Max != 4 {
		t.Errorf("max = %d, want 4", c.Max)
	}
	// The tallest bar fills the plot; bars stack failures on successes.
	b := c.Bars[3]
	if b.OkH+b.FailH != chartBottom-chartTop || b.FailY+b.FailH != b.OkY {
		t.Errorf("bar 3 geometry: %+v", b)
	}
	if c.Bars[1].OkH != 0 || c.Bars[1].FailH != 0 {
		t.Errorf("an empty hour has a bar: %+v", c.Bars[1])
	}
}
