package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(&command{path: "token get", args: "[--resource R]", summary: "get an access token (default resource: the control plane)", run: runTokenGet})
}

// tokenSource is where `token get` gets its token. Today that is the
// configured client credential; `--identity` (ask the local agent for a
// managed identity's token) will add a second implementation here.
type tokenSource interface {
	Token(ctx context.Context, resource string) (client.AccessToken, error)
}

// tokenOutput is `az account get-access-token`'s shape, plus the unix
// expires_on newer az versions add.
type tokenOutput struct {
	AccessToken  string `json:"accessToken"`
	ExpiresOn    string `json:"expiresOn"`
	ExpiresOnTS  int64  `json:"expires_on"`
	TokenType    string `json:"tokenType"`
	Tenant       string `json:"tenant"`
	Subscription string `json:"subscription,omitempty"`
}

func runTokenGet(a *app, args []string) error {
	fs := newFlagSet("token get")
	resource := fs.String("resource", client.ManagementResource, "resource (audience) the token is for")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *resource == "" {
		return usagef("--resource is empty")
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	var src tokenSource = c
	tok, err := src.Token(a.ctx, *resource)
	if err != nil {
		return err
	}
	out := tokenOutput{
		AccessToken:  tok.Token,
		ExpiresOn:    formatTime(tok.ExpiresOn),
		ExpiresOnTS:  tok.ExpiresOn.Unix(),
		TokenType:    "Bearer",
		Tenant:       c.TenantID(),
		Subscription: c.SubscriptionID(),
	}
	return a.emit(out, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, tok.Token)
		return err
	})
}
