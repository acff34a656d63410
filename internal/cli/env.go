package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/signet-platform/signet/client"
)

// EnvFileVar names the env file when --env-file is not given.
const EnvFileVar = "SIGNET_ENV_FILE"

// lookupEnv returns a getenv that prefers the process environment and falls
// back to the env file. An env file named explicitly (flag or variable) must
// exist; the default one under $HOME is used only when it does.
func (a *app) lookupEnv() (func(string) string, error) {
	path, explicit := a.envFile, true
	if path == "" {
		path = a.getenv(EnvFileVar)
	}
	if path == "" {
		explicit = false
		if home := a.getenv("HOME"); home != "" {
			path = filepath.Join(home, ".signet", "dev", "env")
		}
	}
	var file map[string]string
	if path != "" {
		vars, err := client.LoadEnvFile(path)
		switch {
		case err == nil:
			file = vars
		case !explicit && errors.Is(err, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("env file: %w", err)
		}
	}
	return func(name string) string {
		if v := a.getenv(name); v != "" {
			return v
		}
		return file[name]
	}, nil
}

// config resolves the client configuration; --subscription wins over the
// environment.
func (a *app) config() (client.Config, error) {
	getenv, err := a.lookupEnv()
	if err != nil {
		return client.Config{}, err
	}
	cfg, err := client.ConfigFromEnv(getenv)
	if err != nil {
		return cfg, fmt.Errorf("%w (run `signet dev`, or set them or --env-file)", err)
	}
	if a.subscription != "" {
		cfg.SubscriptionID = a.subscription
	}
	return cfg, nil
}

// api returns the client, building it on first use.
func (a *app) api() (*client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// subscriptionClient is api for commands that act in a subscription.
func (a *app) subscriptionClient() (*client.Client, error) {
	c, err := a.api()
	if err != nil {
		return nil, err
	}
	if c.SubscriptionID() == "" {
		return nil, fmt.Errorf("no subscription: set %s or pass --subscription", client.EnvSubscriptionID)
	}
	return c, nil
}
