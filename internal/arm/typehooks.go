package arm

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

// TypeHooks lets the service behind a resource type own that type's
// properties (a vault's vaultUri, a storage account's endpoints) and what
// happens to its data when the resource goes, without the control plane
// knowing either. Both run inside the control plane's write transaction.
type TypeHooks interface {
	// Prepare validates and completes res.Properties before a PUT or PATCH
	// stores it (created says whether the resource is new). A non-empty
	// invalid is a client-safe reason for a 400 InvalidRequestContent; err
	// is an internal failure.
	Prepare(tx store.Tx, res *store.Resource, created bool) (invalid string, err error)
	// Deleted runs in the transaction that deletes res.
	Deleted(tx store.Tx, res store.Resource) error
}

// Presenter is implemented by TypeHooks whose properties carry what the
// deployment decides rather than the caller (a data-plane endpoint, whose
// port can change between runs): Prepare leaves them out of what is stored,
// and Present sets them in props each time the resource is read, so they
// never go stale.
type Presenter interface {
	Present(res store.Resource, props map[string]json.RawMessage) error
}

func (s *Server) hooksFor(typ string) TypeHooks {
	if s.TypeHooks == nil {
		return nil
	}
	return s.TypeHooks[strings.ToLower(typ)]
}

// prepareTx runs the type's Prepare hook, if it has one.
func (s *Server) prepareTx(tx store.Tx, res *store.Resource, created bool) error {
	h := s.hooksFor(res.Type)
	if h == nil {
		return nil
	}
	invalid, err := h.Prepare(tx, res, created)
	if err != nil {
		return err
	}
	if invalid != "" {
		return newError(http.StatusBadRequest, codeInvalidRequestContent, "%s", invalid)
	}
	return nil
}

// deletedTx runs the type's Deleted hook, if it has one.
func (s *Server) deletedTx(tx store.Tx, res store.Resource) error {
	if h := s.hooksFor(res.Type); h != nil {
		return h.Deleted(tx, res)
	}
	return nil
}
