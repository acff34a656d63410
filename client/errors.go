package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error is an error answered by a Signet service: ARM's
// {"error":{"code","message"}} from the control plane, Key Vault's
// {"error":{"code","message","innererror":{"code"}}} from a vault, or
// Entra's {"error","error_description"} from the STS.
type Error struct {
	StatusCode int
	Code       string
	// InnerCode is Key Vault's innererror.code, the finer reason behind
	// Code (Forbidden → ForbiddenByRbac, SecretDisabled...); "" for none.
	InnerCode string
	Message   string
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	if e.InnerCode != "" {
		code += " (" + e.InnerCode + ")"
	}
	if e.Message == "" {
		return code
	}
	return code + ": " + e.Message
}

// maxErrorText bounds how much of a non-JSON error body ends up in a message.
const maxErrorText = 512

// decodeError turns a failed response body into an *Error, whichever of the
// two shapes it has; anything else keeps the status and a bounded excerpt.
func decodeError(status int, body []byte) *Error {
	e := &Error{StatusCode: status}
	var env struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Error) > 0 {
		var arm struct {
			Code, Message string
			InnerError    struct{ Code string } `json:"innererror"`
		}
		var entra string
		switch {
		case json.Unmarshal(env.Error, &arm) == nil && (arm.Code != "" || arm.Message != ""):
			e.Code, e.InnerCode, e.Message = arm.Code, arm.InnerError.Code, arm.Message
			return e
		case json.Unmarshal(env.Error, &entra) == nil && entra != "":
			e.Code, e.Message = entra, env.ErrorDescription
			return e
		}
	}
	e.Code = http.StatusText(status)
	text := strings.TrimSpace(strings.ToValidUTF8(string(body), "?"))
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "…"
	}
	e.Message = text
	return e
}
