package host

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/signet-platform/signet/internal/agent"
)

// appsDir holds one secret file per app.
const appsDir = "apps"

// appSecret is the on-disk form of one app's App Service secret.
type appSecret struct {
	App    string `json:"app"`
	Secret string `json:"secret"`
}

// newSecret makes an App Service secret: 256 random bits, base64url, so it
// is safe in a header and an environment variable.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// secretPath is where app's secret lives: named by a hash, because an app
// id is an ARM path full of slashes and its case does not matter.
func secretPath(stateDir, app string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(app)))
	return filepath.Join(stateDir, appsDir, hex.EncodeToString(sum[:])+".json")
}

// appSecrets keeps the secret table and the apps directory in step with the
// apps the synced identity list names.
type appSecrets struct {
	stateDir string
	// table answers the App Service endpoint. Its keys are lower-cased
	// app ids, which is how package enroll indexes identities.
	table  *agent.AppSecretTable
	logger *slog.Logger
	// secrets holds the clear secrets by lower-cased app id: the host's is
	// handed to `signet dev`, and an app's is rewritten if its file went.
	mu      sync.Mutex
	secrets map[string]appSecret
}

// load restores the persisted secrets. A file that cannot be parsed is
// removed: the next reconcile issues a new secret for its app.
func (s *appSecrets) load() error {
	dir := filepath.Join(s.stateDir, appsDir)
	if err := ensurePrivateDir(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = map[string]appSecret{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		as, err := readSecretFile(path)
		if err != nil || secretPath(s.stateDir, as.App) != path {
			s.logger.Warn("agent: discarding an unusable app secret file", "file", e.Name(), "error", err)
			os.Remove(path)
			continue
		}
		s.table.Set(strings.ToLower(as.App), as.Secret)
		s.secrets[strings.ToLower(as.App)] = as
	}
	return nil
}

// reconcile issues a secret for every app in apps (and the host) that has
// none and revokes the secrets of apps no longer listed.
func (s *appSecrets) reconcile(apps []string) error {
	want := map[string]string{"": ""}
	for _, a := range apps {
		want[strings.ToLower(a)] = a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for key, as := range s.secrets {
		if _, ok := want[key]; ok {
			continue
		}
		s.table.Revoke(key)
		delete(s.secrets, key)
		if err := os.Remove(secretPath(s.stateDir, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		s.logger.Info("agent: app removed from this host; its secret is revoked", "app", as.App)
	}
	for key, app := range want {
		path := secretPath(s.stateDir, key)
		as, ok := s.secrets[key]
		if ok {
			// Restore a file deleted by hand, so `signet run` keeps working.
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, writeJSON(path, as))
			}
			continue
		}
		as = appSecret{App: app, Secret: newSecret()}
		// Persist first: a secret the table accepts but `signet run` cannot
		// find would be useless, one on disk but not yet in the table is
		// retried by the next reconcile.
		if err := writeJSON(path, as); err != nil {
			errs = append(errs, err)
			continue
		}
		s.table.Set(key, as.Secret)
		s.secrets[key] = as
		if app != "" {
			s.logger.Info("agent: app placed on this host; secret issued", "app", app)
		}
	}
	return errors.Join(errs...)
}

// secret returns the clear secret of app ("" is the host).
func (s *appSecrets) secret(app string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secrets[strings.ToLower(app)].Secret
}

func (s *appSecrets) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.secrets) - 1 // the host's own is not an app
}

func readSecretFile(path string) (appSecret, error) {
	var as appSecret
	b, err := os.ReadFile(path)
	if err != nil {
		return as, err
	}
	if err := json.Unmarshal(b, &as); err != nil {
		return as, fmt.Errorf("parse %s: %w", filepath.Base(path), err)
	}
	if as.Secret == "" {
		return as, fmt.Errorf("%s holds no secret", filepath.Base(path))
	}
	return as, nil
}
