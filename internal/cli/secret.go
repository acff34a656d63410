package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/signet-platform/signet/client"
)

// vaultArgs is the synopsis of the flags every secret command takes.
const vaultArgs = "(--vault-name V [--group G] | --vault-url URL) [--identity [--client-id C]]"

func init() {
	register(
		&command{path: "secret set", args: vaultArgs + " --name N (--value V | --file F|-) [--content-type T] [--disabled] [--not-before RFC3339] [--expires RFC3339] [--tags k=v ...]",
			summary: "store a new version of a secret (the value is not printed)", run: runSecretSet},
		&command{path: "secret show", args: vaultArgs + " --name N [--version X]",
			summary: "show a secret with its value (table output: the value alone)", run: runSecretShow},
		&command{path: "secret list", args: vaultArgs + " [--include-versions]",
			summary: "list a vault's secrets (without values)", run: runSecretList},
		&command{path: "secret delete", args: vaultArgs + " --name N",
			summary: "delete a secret; it stays recoverable until its scheduled purge date", run: runSecretDelete},
		&command{path: "secret list-deleted", args: vaultArgs, summary: "list a vault's deleted, recoverable secrets", run: runSecretListDeleted},
		&command{path: "secret show-deleted", args: vaultArgs + " --name N", summary: "show a deleted secret", run: runSecretShowDeleted},
		&command{path: "secret recover", args: vaultArgs + " --name N", summary: "recover a deleted secret", run: runSecretRecover},
		&command{path: "secret purge", args: vaultArgs + " --name N", summary: "delete a deleted secret for good", run: runSecretPurge},
		&command{path: "secret backup", args: vaultArgs + " --name N --file OUT",
			summary: "write every version of a secret to a file, sealed: it restores only into a vault of the same tenant", run: runSecretBackup},
		&command{path: "secret restore", args: vaultArgs + " --file IN", summary: "restore a backed-up secret into a vault", run: runSecretRestore},
	)
}

// parseRFC3339 reads an optional time flag.
func parseRFC3339(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("invalid --%s %q (want an RFC 3339 time, e.g. 2030-01-02T15:04:05Z)", flagName, s)
	}
	return t, nil
}

func runSecretSet(a *app, args []string) error {
	tagValues, _, args := takeMulti(args, "tags")
	fs := newFlagSet("secret set")
	vault := a.vaultFlags(fs)
	name := fs.String("name", "", "secret name")
	value := fs.String("value", "", "the value (visible to other users of this machine in the process list: prefer --file)")
	file := fs.String("file", "", "read the value from this file, or - for stdin")
	contentType := fs.String("content-type", "", "content type, a hint for readers")
	disabled := fs.Bool("disabled", false, "store the version disabled: it cannot be read until enabled")
	notBefore := fs.String("not-before", "", "not readable before this time (RFC 3339)")
	expires := fs.String("expires", "", "not readable after this time (RFC 3339)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	valueSet := false
	fs.Visit(func(f *flag.Flag) { valueSet = valueSet || f.Name == "value" })
	p := client.SetSecretParams{ContentType: *contentType}
	var err error
	if p.NotBefore, err = parseRFC3339("not-before", *notBefore); err != nil {
		return err
	}
	if p.Expires, err = parseRFC3339("expires", *expires); err != nil {
		return err
	}
	if p.Tags, err = parseTags(tagValues); err != nil {
		return err
	}
	if *disabled {
		p.Enabled = new(bool)
	}
	if p.Value, err = a.secretValue(*value, valueSet, *file); err != nil {
		return err
	}
	v, err := vault()
	if err != nil {
		return err
	}
	s, err := v.SetSecret(a.ctx, *name, p)
	if err != nil {
		return err
	}
	return a.printSecrets(false, s)
}

func runSecretShow(a *app, args []string) error {
	fs := newFlagSet("secret show")
	vault := a.vaultFlags(fs)
	name := fs.String("name", "", "secret name")
	version := fs.String("version", "", "version (default: the current one)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	v, err := vault()
	if err != nil {
		return err
	}
	s, err := v.GetSecret(a.ctx, *name, *version)
	if err != nil {
		return err
	}
	// The one command that prints a value, on stdout only.
	return a.emit(s, func(w io.Writer) error {
		value := ""
		if s.Value != nil {
			value = *s.Value
		}
		_, err := fmt.Fprintln(w, value)
		return err
	})
}

func runSecretList(a *app, args []string) error {
	fs := newFlagSet("secret list")
	vault := a.vaultFlags(fs)
	versions := fs.Bool("include-versions", false, "list every version of every secret")
	if err := parse(fs, args); err != nil {
		return err
	}
	v, err := vault()
	if err != nil {
		return err
	}
	ss, err := v.ListSecrets(a.ctx)
	if err != nil {
		return err
	}
	if *versions {
		var all []client.Secret
		for _, s := range ss {
			vs, err := v.ListSecretVersions(a.ctx, s.Name)
			if err != nil {
				return fmt.Errorf("versions of %s: %w", s.Name, err)
			}
			all = append(all, vs...)
		}
		ss = all
	}
	return a.printSecrets(true, ss...)
}

func runSecretListDeleted(a *app, args []string) error {
	fs := newFlagSet("secret list-deleted")
	vault := a.vaultFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	v, err := vault()
	if err != nil {
		return err
	}
	ss, err := v.ListDeletedSecrets(a.ctx)
	if err != nil {
		return err
	}
	return a.printSecrets(true, ss...)
}

// namedSecretCommand runs op on --name in the vault the flags name.
func namedSecretCommand(a *app, cmdName string, args []string, op func(v *client.VaultClient, name string) error) error {
	fs := newFlagSet(cmdName)
	vault := a.vaultFlags(fs)
	name := fs.String("name", "", "secret name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	v, err := vault()
	if err != nil {
		return err
	}
	return op(v, *name)
}

// printNamedSecret runs a one-secret vault operation on --name and prints
// the secret it answers (without its value).
func printNamedSecret(a *app, cmdName string, args []string, op func(*client.VaultClient, context.Context, string) (client.Secret, error)) error {
	return namedSecretCommand(a, cmdName, args, func(v *client.VaultClient, name string) error {
		s, err := op(v, a.ctx, name)
		if err != nil {
			return err
		}
		return a.printSecrets(false, s)
	})
}

func runSecretDelete(a *app, args []string) error {
	return printNamedSecret(a, "secret delete", args, (*client.VaultClient).DeleteSecret)
}

func runSecretShowDeleted(a *app, args []string) error {
	return printNamedSecret(a, "secret show-deleted", args, (*client.VaultClient).GetDeletedSecret)
}

func runSecretRecover(a *app, args []string) error {
	return printNamedSecret(a, "secret recover", args, (*client.VaultClient).RecoverDeletedSecret)
}

func runSecretPurge(a *app, args []string) error {
	return namedSecretCommand(a, "secret purge", args, func(v *client.VaultClient, name string) error {
		return v.PurgeDeletedSecret(a.ctx, name)
	})
}

// maxBackupFile bounds what restore reads: the vault takes 16 MiB bodies,
// base64 of a backup a little over 12 MiB.
const maxBackupFile = 12 << 20

func runSecretBackup(a *app, args []string) error {
	fs := newFlagSet("secret backup")
	vault := a.vaultFlags(fs)
	name := fs.String("name", "", "secret name")
	file := fs.String("file", "", "file to write the backup to (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}, [2]string{"file", *file}); err != nil {
		return err
	}
	// Fail before asking the vault: never fetch a backup there is nowhere
	// to put, and never overwrite a file (az refuses too).
	f, err := os.OpenFile(*file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists", *file)
	}
	if err != nil {
		return err
	}
	blob, err := func() ([]byte, error) {
		v, err := vault()
		if err != nil {
			return nil, err
		}
		return v.BackupSecret(a.ctx, *name)
	}()
	if err == nil {
		_, err = f.Write(blob)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*file) // no partial or empty backup left behind
		return err
	}
	return nil
}

func runSecretRestore(a *app, args []string) error {
	fs := newFlagSet("secret restore")
	vault := a.vaultFlags(fs)
	file := fs.String("file", "", "backup file written by `secret backup`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"file", *file}); err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	blob, err := io.ReadAll(io.LimitReader(f, maxBackupFile+1))
	if err != nil {
		return fmt.Errorf("reading %s: %w", *file, err)
	}
	if len(blob) > maxBackupFile {
		return fmt.Errorf("%s is larger than any secret backup (%d bytes)", *file, maxBackupFile)
	}
	v, err := vault()
	if err != nil {
		return err
	}
	s, err := v.RestoreSecret(a.ctx, blob)
	if err != nil {
		return err
	}
	return a.printSecrets(false, s)
}
