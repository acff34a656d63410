package cli

import (
	"io"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "keys rotate", args: "", summary: "start a signing-key rotation", run: runKeysRotate},
		&command{path: "keys list", args: "", summary: "list signing keys", run: runKeysList},
	)
}

func runKeysRotate(a *app, args []string) error {
	if err := parse(newFlagSet("keys rotate"), args); err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	k, err := c.RotateSigningKeys(a.ctx)
	if err != nil {
		return err
	}
	return a.emit(rawOr(k.Raw, k), func(w io.Writer) error { return keyTable(w, k) })
}

func runKeysList(a *app, args []string) error {
	if err := parse(newFlagSet("keys list"), args); err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	keys, err := c.ListSigningKeys(a.ctx)
	if err != nil {
		return err
	}
	raws := make([]any, 0, len(keys))
	for _, k := range keys {
		raws = append(raws, rawOr(k.Raw, k))
	}
	return a.emit(raws, func(w io.Writer) error { return keyTable(w, keys...) })
}

func keyTable(w io.Writer, keys ...client.SigningKey) error {
	t := newTable(w, "KID", "PUBLISH AT", "ACTIVE AT")
	for _, k := range keys {
		t.row(k.KID, formatTime(k.PublishAt), formatTime(k.ActiveAt))
	}
	return t.flush()
}
