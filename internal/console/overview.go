package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/signet-platform/signet/client"
)

type overviewView struct {
	Identities, UserAssigned, SystemAssigned int
	Resources                                int
	SignIns, Failures                        int
	Chart                                    chart
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) error {
	var inv inventory
	if err := inv.load(r.Context(), sess.client, false); err != nil {
		return err
	}
	now := time.Now().UTC()
	since := now.Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
	signIns, err := sess.client.ListSignIns(r.Context(), client.SignInFilter{Since: since, Top: 1000})
	if err != nil {
		return err
	}
	v := overviewView{Resources: len(inv.Resources), Chart: hourlyChart(signIns, since)}
	for _, id := range inv.identities() {
		v.Identities++
		if id.Kind == "User-assigned" {
			v.UserAssigned++
		} else {
			v.SystemAssigned++
		}
	}
	for _, si := range signIns {
		v.SignIns++
		if si.Result != "success" {
			v.Failures++
		}
	}
	s.render(w, r, http.StatusOK, "overview", sess, "Overview", v)
	return nil
}

// The chart is an inline SVG drawn here: bars of sign-ins per hour,
// failures stacked on successes. Geometry is computed in Go so the
// template only places rectangles (CSP allows no script, and no inline
// style: colours come from classes in the stylesheet).
const (
	chartHours  = 24
	chartWidth  = 720
	chartHeight = 180
	chartTop    = 10
	chartBottom = 150 // baseline y; labels go below it
	chartLeft   = 40
)

type chart struct {
	Width, Height, Left, Baseline int
	Max                           int
	Bars                          []bar
	Ticks                         []tick
}

type bar struct {
	X, W         float64
	OkY, OkH     float64
	FailY, FailH float64
	Ok, Fail     int
	Hour         string
	Label        string // every few bars, to keep labels apart
	LabelX       float64
	Title        string
}

type tick struct {
	Y     float64
	Label string
}

// hourlyChart buckets sign-ins into the chartHours hours starting at since.
func hourlyChart(signIns []client.SignIn, since time.Time) chart {
	ok := make([]int, chartHours)
	fail := make([]int, chartHours)
	for _, si := range signIns {
		i := int(si.Time.Sub(since) / time.Hour)
		if si.Time.Before(since) || i >= chartHours {
			continue
		}
		if si.Result == "success" {
			ok[i]++
		} else {
			fail[i]++
		}
	}
	peak := 1
	for i := range ok {
		peak = max(peak, ok[i]+fail[i])
	}
	c := chart{Width: chartWidth, Height: chartHeight, Left: chartLeft, Baseline: chartBottom, Max: peak}
	plot := float64(chartBottom - chartTop)
	slot := float64(chartWidth-chartLeft) / chartHours
	for i := range chartHours {
		hour := since.Add(time.Duration(i) * time.Hour)
		okH := plot * float64(ok[i]) / float64(peak)
		failH := plot * float64(fail[i]) / float64(peak)
		b := bar{
			X: float64(chartLeft) + float64(i)*slot + 2, W: slot - 4,
			OkY: chartBottom - okH, OkH: okH,
			FailY: chartBottom - okH - failH, FailH: failH,
			Ok: ok[i], Fail: fail[i], Hour: hour.Format("15:04"),
			LabelX: float64(chartLeft) + float64(i)*slot + slot/2,
			Title:  fmt.Sprintf("%s UTC: %d succeeded, %d failed", hour.Format("Jan 2 15:04"), ok[i], fail[i]),
		}
		if i%3 == 0 {
			b.Label = hour.Format("15h")
		}
		c.Bars = append(c.Bars, b)
	}
	c.Ticks = []tick{{Y: chartBottom, Label: "0"}, {Y: chartTop, Label: fmt.Sprint(peak)}}
	return c
}
