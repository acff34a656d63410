package oauth2

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteError(t *testing.T) {
	now := time.Date(2026, 1, 9, 2, 2, 12, 0, time.UTC)
	const cid = "aaaa0000-bb11-2222-33cc-444444dddddd"
	tests := []struct {
		name          string
		err           error
		requestID     string
		status        int
		code          string
		codes         []int
		descPrefix    string
		correlationIs string // "" means: a fresh GUID
	}{
		{"oauth error, GUID request id echoed", Errorf(401, ErrInvalidClient, 7000215, "Invalid client secret provided."), cid,
			401, ErrInvalidClient, []int{7000215}, "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: ", cid},
		{"non-GUID request id not echoed", Errorf(400, ErrInvalidScope, 70011, "bad scope"), "<script>",
			400, ErrInvalidScope, []int{70011}, "AADSTS70011: bad scope\r\n", ""},
		{"no AADSTS code", Errorf(400, ErrUnsupportedResponseType, 0, "no"), "",
			400, ErrUnsupportedResponseType, nil, "no\r\nTrace ID: ", ""},
		{"plain error becomes server_error", errors.New("db password=hunter2 refused"), cid,
			500, ErrServerError, []int{90033}, "AADSTS90033: A transient error", cid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			r := httptest.NewRequest(http.MethodPost, "/t/oauth2/v2.0/token", nil)
			if tt.requestID != "" {
				r.Header.Set("client-request-id", tt.requestID)
			}
			w := httptest.NewRecorder()
			WriteError(w, r, logger, now, tt.err)

			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			var body struct {
				Error         string `json:"error"`
				Description   string `json:"error_description"`
				ErrorCodes    []int  `json:"error_codes"`
				Timestamp     string `json:"timestamp"`
				TraceID       string `json:"trace_id"`
				CorrelationID string `json:"correlation_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error != tt.code || body.Timestamp != "2026-01-09 02:02:12Z" {
				t.Errorf("error %q timestamp %q, want %q and 2026-01-09 02:02:12Z", body.Error, body.Timestamp, tt.code)
			}
			if diff := cmp.Diff(tt.codes, body.ErrorCodes); diff != "" {
				t.Errorf("error_codes (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(body.Description, tt.descPrefix) {
				t.Errorf("error_description = %q, want prefix %q", body.Description, tt.descPrefix)
			}
			wantTail := "Trace ID: " + body.TraceID + "\r\nCorrelation ID: " + body.CorrelationID + "\r\nTimestamp: 2026-01-09 02:02:12Z"
			if !strings.HasSuffix(body.Description, wantTail) {
				t.Errorf("error_description = %q, want suffix %q", body.Description, wantTail)
			}
			if tt.correlationIs != "" && body.CorrelationID != tt.correlationIs {
				t.Errorf("correlation_id = %q, want %q", body.CorrelationID, tt.correlationIs)
			}
			if tt.correlationIs == "" && (len(body.CorrelationID) != 36 || body.CorrelationID == tt.requestID) {
				t.Errorf("correlation_id = %q, want a fresh GUID", body.CorrelationID)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("the private cause leaked into the response: %s", w.Body)
			}
			if tt.status == 500 && !strings.Contains(logs.String(), "db password") {
				t.Errorf("the cause of a server error was not logged: %s", logs.String())
			}
			for h, want := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"} {
				if got := w.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}
