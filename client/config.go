package client

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Config says where Signet's services are and which credential to use.
type Config struct {
	// ManagementURL is the control plane's base URL (SIGNET_URL).
	ManagementURL string
	// AuthorityHost is the STS base URL (AZURE_AUTHORITY_HOST), without the tenant.
	AuthorityHost string
	TenantID      string
	// SubscriptionID is the default subscription for subscription-scoped calls.
	SubscriptionID string
	ClientID       string
	ClientSecret   string
	// CAFile is a PEM bundle of the CAs to trust. When set, only these are
	// trusted; when empty, the system roots are.
	CAFile string
}

// Environment variables read by ConfigFromEnv.
const (
	EnvManagementURL  = "SIGNET_URL"
	EnvAuthorityHost  = "AZURE_AUTHORITY_HOST"
	EnvTenantID       = "AZURE_TENANT_ID"
	EnvSubscriptionID = "SIGNET_SUBSCRIPTION_ID"
	EnvClientID       = "SIGNET_CLIENT_ID"
	EnvClientSecret   = "SIGNET_CLIENT_SECRET"
	EnvCAFile         = "SSL_CERT_FILE"
)

// ConfigFromEnv builds a Config from environment variables read through
// getenv (os.Getenv, or a lookup that layers an env file under the process
// environment). The subscription and CA file are optional; the rest are
// needed to get a token and so are required.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		ManagementURL:  getenv(EnvManagementURL),
		AuthorityHost:  getenv(EnvAuthorityHost),
		TenantID:       getenv(EnvTenantID),
		SubscriptionID: getenv(EnvSubscriptionID),
		ClientID:       getenv(EnvClientID),
		ClientSecret:   getenv(EnvClientSecret),
		CAFile:         getenv(EnvCAFile),
	}
	var missing []string
	for _, v := range []struct{ name, value string }{
		{EnvManagementURL, cfg.ManagementURL},
		{EnvAuthorityHost, cfg.AuthorityHost},
		{EnvTenantID, cfg.TenantID},
		{EnvClientID, cfg.ClientID},
		{EnvClientSecret, cfg.ClientSecret},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("missing configuration: %s not set", strings.Join(missing, ", "))
	}
	return cfg, nil
}

// LoadEnvFile reads a file of shell assignments as written by `signet dev`
// (<data-dir>/env): lines of `export NAME='value'`, `export NAME=value` or
// `NAME=value`, with # comments and blank lines. A single-quoted value may
// hold a quote the POSIX shell way, by closing, escaping and reopening:
//
//	export SECRET='it'\''s'
//
// Double-quoted values may contain \" and \\ escapes. Nothing is expanded:
// the file is data, never run.
func LoadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := make(map[string]string)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, err := parseEnvLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		vars[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return vars, nil
}

func parseEnvLine(line string) (name, value string, err error) {
	if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimSpace(rest)
	}
	name, raw, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", errors.New("expected NAME=value")
	}
	if !validEnvName(name) {
		return "", "", fmt.Errorf("invalid variable name %q", name)
	}
	value, err = parseShellValue(raw)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", name, err)
	}
	return name, value, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// parseShellValue unquotes a value the way a POSIX shell would for the
// forms an env file uses: concatenated unquoted, 'single-quoted' and
// "double-quoted" segments, ending at an unquoted space or # comment.
func parseShellValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 2
		case '"':
			i++
			for {
				if i >= len(s) {
					return "", errors.New("unterminated double quote")
				}
				if s[i] == '"' {
					i++
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
		case '\\':
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i += 2
			} else {
				i++
			}
		case ' ', '\t':
			rest := strings.TrimSpace(s[i:])
			if rest != "" && !strings.HasPrefix(rest, "#") {
				return "", errors.New("unexpected text after value")
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}
