package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "keyvault create", args: "--group G --name N [--location L] [--retention-days 7..90] [--enable-purge-protection]",
			summary: "create a key vault (its URL is properties.vaultUri)", run: runKeyVaultCreate},
		&command{path: "keyvault list", args: "[--group G]", summary: "list key vaults", run: runKeyVaultList},
		&command{path: "keyvault show", args: "--group G --name N", summary: "show a key vault", run: runKeyVaultShow},
		&command{path: "keyvault delete", args: "--group G --name N",
			summary: "delete a key vault and every secret in it (deleted vaults are not kept)", run: runKeyVaultDelete},
	)
}

// Soft-delete retention bounds, as Azure's.
const (
	minRetentionDays = 7
	maxRetentionDays = 90
)

func runKeyVaultCreate(a *app, args []string) error {
	fs := newFlagSet("keyvault create")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "vault name: 3–24 letters, digits and dashes, globally unique")
	location := fs.String("location", "", "location (default: the group's)")
	retention := fs.Int("retention-days", 0, "days a deleted secret stays recoverable, 7–90 (default 90); fixed once the vault exists")
	purgeProtection := fs.Bool("enable-purge-protection", false, "refuse purges until the retention ends; cannot be turned off")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *name}); err != nil {
		return err
	}
	if *retention != 0 && (*retention < minRetentionDays || *retention > maxRetentionDays) {
		return usagef("--retention-days must be from %d to %d", minRetentionDays, maxRetentionDays)
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	loc, err := a.locationOrGroups(c, *location, *group)
	if err != nil {
		return err
	}
	body := client.Vault{Location: loc, Properties: client.VaultProperties{SoftDeleteRetentionInDays: *retention}}
	if *purgeProtection {
		body.Properties.EnablePurgeProtection = purgeProtection
	}
	v, err := c.PutVault(a.ctx, *group, *name, body)
	if err != nil {
		return err
	}
	return a.printVaults(false, v)
}

func runKeyVaultList(a *app, args []string) error {
	fs := newFlagSet("keyvault list")
	group := fs.String("group", "", "resource group (default: the whole subscription)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	vs, err := c.ListVaults(a.ctx, *group)
	if err != nil {
		return err
	}
	return a.printVaults(true, vs...)
}

// vaultTarget parses --group and --name for a command on one vault.
func (a *app) vaultTarget(cmdName string, args []string) (c *client.Client, group, name string, err error) {
	if group, name, err = groupAndName(cmdName, "vault", args); err != nil {
		return nil, "", "", err
	}
	c, err = a.subscriptionClient()
	return c, group, name, err
}

func runKeyVaultShow(a *app, args []string) error {
	c, group, name, err := a.vaultTarget("keyvault show", args)
	if err != nil {
		return err
	}
	v, err := c.GetVault(a.ctx, group, name)
	if err != nil {
		return err
	}
	return a.printVaults(false, v)
}

func runKeyVaultDelete(a *app, args []string) error {
	c, group, name, err := a.vaultTarget("keyvault delete", args)
	if err != nil {
		return err
	}
	return c.DeleteVault(a.ctx, group, name)
}

func (a *app) printVaults(asList bool, vaults ...client.Vault) error {
	raws := make([]any, 0, len(vaults))
	for _, v := range vaults {
		raws = append(raws, rawOr(v.Raw, v))
	}
	var jv any = raws
	if !asList && len(raws) == 1 {
		jv = raws[0]
	}
	return a.emit(jv, func(w io.Writer) error {
		t := newTable(w, "NAME", "GROUP", "LOCATION", "VAULT URI", "RETENTION DAYS", "PURGE PROTECTION")
		for _, v := range vaults {
			p := v.Properties
			days := ""
			if p.SoftDeleteRetentionInDays != 0 {
				days = strconv.Itoa(p.SoftDeleteRetentionInDays)
			}
			t.row(v.Name, groupOf(v.ID), v.Location, p.VaultURI, days, fmt.Sprint(p.EnablePurgeProtection != nil && *p.EnablePurgeProtection))
		}
		return t.flush()
	})
}
