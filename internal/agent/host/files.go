package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// endpointsFile records the bound endpoint URLs for `signet run` and
// operators.
const endpointsFile = "agent.json"

// Endpoints are the URLs the agent serves on; "" for a disabled endpoint.
type Endpoints struct {
	IMDS       string `json:"imds,omitempty"`       // base URL, e.g. http://169.254.169.254
	AppService string `json:"appService,omitempty"` // the IDENTITY_ENDPOINT, …/msi/token
	Arc        string `json:"arc,omitempty"`        // the Arc IDENTITY_ENDPOINT, …/metadata/identity/oauth2/token
	Ops        string `json:"ops,omitempty"`        // /healthz, /readyz, /metrics, for monitoring
}

// DefaultStateDir is where `signet agent` keeps its state unless told
// otherwise; StateDirVar overrides it for `signet run`.
const (
	DefaultStateDir = "/var/lib/signet/agent"
	StateDirVar     = "SIGNET_AGENT_STATE_DIR"
)

// runEnvDropped are the variables that would make an SDK pick a managed
// identity source other than the App Service endpoint (reference §5.1):
// Service Fabric (a thumbprint), Azure ML or Cloud Shell (MSI_*), Arc
// (IMDS_ENDPOINT).
var runEnvDropped = []string{
	"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
	"MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT",
}

// RunEnv returns environ with IDENTITY_ENDPOINT and IDENTITY_HEADER set for
// app, as `signet run --app` starts a process: the SDKs then get app's
// identities from the agent whose state is in stateDir, not the host's.
func RunEnv(stateDir, app string, environ []string) ([]string, error) {
	if app == "" {
		return nil, errors.New("no app resource id given")
	}
	var ep Endpoints
	if err := readJSON(filepath.Join(stateDir, endpointsFile), &ep); err != nil {
		return nil, fmt.Errorf("cannot read the agent's state in %s (is `signet agent` running, and are you root or its user?): %w", stateDir, err)
	}
	if ep.AppService == "" {
		return nil, fmt.Errorf("the agent whose state is in %s serves no App Service endpoint (started without --appservice-addr?)", stateDir)
	}
	as, err := readSecretFile(secretPath(stateDir, app))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("app %s is not placed on this host (or the agent has not synced it yet)", app)
	case err != nil:
		return nil, fmt.Errorf("cannot read the secret of app %s in %s (are you root or the agent's user?): %w", app, stateDir, err)
	case !strings.EqualFold(as.App, app):
		return nil, fmt.Errorf("the secret file for app %s names app %s", app, as.App)
	}
	env := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !containsFold(runEnvDropped, name) {
			env = append(env, kv)
		}
	}
	return append(env, "IDENTITY_ENDPOINT="+ep.AppService, "IDENTITY_HEADER="+as.Secret), nil
}

// containsFold matches variable names case-insensitively: Windows treats
// them so, and a stray lower-case MSI_ENDPOINT must not survive there.
func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// ensurePrivateDir creates dir 0700 and tightens an existing one: it holds
// secrets.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	return nil
}

// writeJSON replaces path atomically with a 0600 file, so a reader never
// sees half a secret.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(data, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", filepath.Base(path), err)
	}
	return nil
}
