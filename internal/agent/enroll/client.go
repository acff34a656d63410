package enroll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Wire types of the MIRP API.
type enrollRequest struct {
	JoinToken string `json:"joinToken"`
	CSR       string `json:"csr"`
}

type csrRequest struct {
	CSR string `json:"csr"`
}

type certificateResponse struct {
	NodeID         string `json:"nodeId"`
	Certificate    string `json:"certificate"`
	CACertificates string `json:"caCertificates"`
}

type identitiesResponse struct {
	Value []listedIdentity `json:"value"`
}

// maxResponse bounds what the agent reads from MIRP.
const maxResponse = 4 << 20

// StatusError is a refusal from MIRP: its HTTP status and error body.
type StatusError struct {
	Status  int
	Code    string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("MIRP answered %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends a JSON request to MIRP and decodes a 200 answer into out. A
// 401 is retried once on a fresh connection: a kept-alive connection may
// have been authenticated with a certificate that has since been replaced,
// and a 401 makes Sync drop every identity.
func (a *Agent) call(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	err := a.roundTrip(ctx, method, path, payload, out)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		a.httpClient().CloseIdleConnections()
		err = a.roundTrip(ctx, method, path, payload, out)
	}
	return err
}

func (a *Agent) roundTrip(ctx context.Context, method, path string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.MIRPURL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("read MIRP response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		se := &StatusError{Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil {
			se.Code, se.Message = eb.Error.Code, eb.Error.Message
		}
		return se
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode MIRP response: %w", err)
	}
	return nil
}
