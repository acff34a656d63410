package host

import (
	"io"
	"log/slog"
)

// Internals the external tests (package host_test, which may import the
// composition root without an import cycle) look at.
var (
	EndpointsFile = endpointsFile
	AppsDir       = appsDir
	SecretPath    = secretPath
	RunEnvDropped = runEnvDropped
	ReadJSON      = readJSON
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// KnowsSecret says whether the agent still accepts an App Service secret.
func (a *Agent) KnowsSecret(secret string) bool {
	_, ok := a.secrets.table.AppForSecret(secret)
	return ok
}
