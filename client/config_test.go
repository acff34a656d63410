package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadEnvFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]string
		wantErr string
	}{
		{
			name: "signet dev file",
			content: `# written by signet dev
export SIGNET_URL='https://127.0.0.1:8444'
export AZURE_TENANT_ID='t-1'

export SIGNET_CLIENT_SECRET='it'\''s a secret'
`,
			want: map[string]string{
				"SIGNET_URL":           "https://127.0.0.1:8444",
				"AZURE_TENANT_ID":      "t-1",
				"SIGNET_CLIENT_SECRET": "it's a secret",
			},
		},
		{
			name:    "unquoted, without export, trailing comment",
			content: "A=plain\nexport B=x=y # comment\n  C=  \n",
			want:    map[string]string{"A": "plain", "B": "x=y", "C": ""},
		},
		{
			name:    "double quotes with escapes, no expansion",
			content: `D="a \"b\" \\ $HOME"` + "\nE='$HOME'\n",
			want:    map[string]string{"D": `a "b" \ $HOME`, "E": "$HOME"},
		},
		{
			name:    "exported variable named like the keyword",
			content: "exportX=1\n",
			want:    map[string]string{"exportX": "1"},
		},
		{name: "unterminated quote", content: "A='abc\n", wantErr: ":1: A: unterminated single quote"},
		{name: "no equals", content: "\nexport A\n", wantErr: ":2: expected NAME=value"},
		{name: "bad name", content: "1A=x\n", wantErr: `invalid variable name "1A"`},
		{name: "trailing words", content: "A=x y\n", wantErr: "unexpected text after value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadEnvFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadEnvFile error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadEnvFile (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadEnvFileMissing(t *testing.T) {
	if _, err := LoadEnvFile(filepath.Join(t.TempDir(), "nope")); !os.IsNotExist(err) {
		t.Errorf("LoadEnvFile(missing) error = %v, want not-exist", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"SIGNET_URL":             "https://m",
		"AZURE_AUTHORITY_HOST":   "https://l",
		"AZURE_TENANT_ID":        "t",
		"SIGNET_SUBSCRIPTION_ID": "s",
		"SIGNET_CLIENT_ID":       "c",
		"SIGNET_CLIENT_SECRET":   "x",
		"SSL_CERT_FILE":          "/ca.pem",
	}
	got, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ManagementURL: "https://m", AuthorityHost: "https://l", TenantID: "t", SubscriptionID: "s", ClientID: "c", ClientSecret: "x", CAFile: "/ca.pem"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigFromEnv (-want +got):\n%s", diff)
	}

	delete(env, "SIGNET_CLIENT_SECRET")
	delete(env, "SIGNET_URL")
	delete(env, "SIGNET_SUBSCRIPTION_ID") // optional
	_, err = ConfigFromEnv(func(k string) string { return env[k] })
	if want := "missing configuration: SIGNET_URL, SIGNET_CLIENT_SECRET not set"; err == nil || err.Error() != want {
		t.Errorf("ConfigFromEnv error = %v, want %q", err, want)
	}
}

func TestNewRefusesInsecureURLs(t *testing.T) {
	base := Config{ManagementURL: "https://m", AuthorityHost: "https://l", TenantID: "t"}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"http management", func(c *Config) { c.ManagementURL = "http://m" }},
		{"http authority", func(c *Config) { c.AuthorityHost = "http://l" }},
		{"credentials in URL", func(c *Config) { c.ManagementURL = "https://u:p@m" }},
		{"no tenant", func(c *Config) { c.TenantID = "" }},
		{"missing CA file", func(c *Config) { c.CAFile = filepath.Join(t.TempDir(), "none.pem") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Errorf("New(%+v) succeeded, want error", cfg)
			}
		})
	}
	if _, err := New(base); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}
