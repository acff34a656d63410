package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
)

const storageAccountType = "Microsoft.Storage/storageAccounts"

func init() {
	register(
		&command{path: "storage account create", args: "--group G --name N [--location L]",
			summary: "create a storage account (its blob endpoint is properties.primaryEndpoints.blob)", run: runStorageAccountCreate},
		&command{path: "storage account list", args: "[--group G]", summary: "list storage accounts",
			run: func(a *app, args []string) error {
				return a.listResources("storage account list", storageAccountType, args, a.printStorageAccounts)
			}},
		&command{path: "storage account delete", args: "--group G --name N",
			summary: "delete a storage account with every container and blob in it",
			run: func(a *app, args []string) error {
				return a.deleteResource("storage account delete", storageAccountType, "storage account", args)
			}},
		&command{path: "storage container create", args: "--account-name A [--group G | --blob-endpoint URL] --name C [--identity]",
			summary: "create a blob container", run: runContainerCreate},
		&command{path: "storage container list", args: "--account-name A [--group G | --blob-endpoint URL] [--identity]",
			summary: "list blob containers", run: runContainerList},
		&command{path: "storage container delete", args: "--account-name A [--group G | --blob-endpoint URL] --name C [--identity]",
			summary: "delete a blob container and its blobs", run: runContainerDelete},
	)
}

func runStorageAccountCreate(a *app, args []string) error {
	fs := newFlagSet("storage account create")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "account name: 3–24 lower-case letters and digits")
	location := fs.String("location", "", "location (default: the group's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	loc, err := a.locationOrGroups(c, *location, *group)
	if err != nil {
		return err
	}
	id, err := c.ResourceID(*group, storageAccountType, *name)
	if err != nil {
		return err
	}
	res, err := c.PutResource(a.ctx, id, client.Resource{Location: loc})
	if err != nil {
		return err
	}
	return a.printStorageAccounts(false, res)
}

func blobEndpointOf(r client.Resource) string {
	var p struct {
		PrimaryEndpoints struct {
			Blob string `json:"blob"`
		} `json:"primaryEndpoints"`
	}
	json.Unmarshal(r.Properties, &p)
	return p.PrimaryEndpoints.Blob
}

func (a *app) printStorageAccounts(asList bool, accts ...client.Resource) error {
	var jv any = accts
	if !asList && len(accts) == 1 {
		jv = accts[0]
	}
	return a.emit(jv, func(w io.Writer) error {
		t := newTable(w, "NAME", "GROUP", "LOCATION", "BLOB ENDPOINT")
		for _, r := range accts {
			t.row(r.Name, groupOf(r.ID), r.Location, blobEndpointOf(r))
		}
		return t.flush()
	})
}

// blobTarget is how a container or blob command reaches an account's
// blob endpoint, and with whose token.
type blobTarget struct {
	api      *blobAPI
	endpoint string // https://host:port/account/ (trailing slash)
}

// blobFlags adds the flags every data-plane command shares and returns a
// function that resolves them once parsed.
func (a *app) blobFlags(fs interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
}) func() (*blobTarget, error) {
	account := fs.String("account-name", "", "storage account name")
	group := fs.String("group", "", "the account's resource group (to look its endpoint up)")
	endpointFlag := fs.String("blob-endpoint", "", "the account's blob endpoint (default: $SIGNET_BLOB_URL/{account}/, else looked up)")
	identity := fs.Bool("identity", false, "act as this host's (or app's) managed identity, through the local agent")
	return func() (*blobTarget, error) {
		if *account == "" && *endpointFlag == "" {
			return nil, usagef("--account-name (or --blob-endpoint) is required")
		}
		getenv, err := a.lookupEnv()
		if err != nil {
			return nil, err
		}
		var tokens client.TokenSource
		if *identity {
			tokens = newManagedIdentitySource(getenv, miSelector{})
		} else {
			c, err := a.api()
			if err != nil {
				return nil, err
			}
			tokens = c
		}
		endpoint := *endpointFlag
		switch {
		case endpoint != "":
		case getenv("SIGNET_BLOB_URL") != "":
			endpoint = strings.TrimSuffix(getenv("SIGNET_BLOB_URL"), "/") + "/" + *account + "/"
		case *group != "":
			c, err := a.subscriptionClient()
			if err != nil {
				return nil, err
			}
			id, err := c.ResourceID(*group, storageAccountType, *account)
			if err != nil {
				return nil, err
			}
			res, err := c.GetResource(a.ctx, id)
			if err != nil {
				return nil, err
			}
			endpoint = blobEndpointOf(res)
		default:
			return nil, usagef("give --group (to look the endpoint up) or --blob-endpoint")
		}
		if !strings.HasPrefix(endpoint, "https://") {
			return nil, fmt.Errorf("blob endpoint %q: must be https (bearer tokens are never sent in the clear)", endpoint)
		}
		hc, err := httpsClient(getenv(client.EnvCAFile))
		if err != nil {
			return nil, err
		}
		return &blobTarget{api: &blobAPI{ctx: a.ctx, tokens: tokens, http: hc},
			endpoint: strings.TrimSuffix(endpoint, "/") + "/"}, nil
	}
}

// httpsClient trusts the system roots, or only caFile's CAs when set (as
// the control-plane client does).
func httpsClient(caFile string) (*http.Client, error) {
	cfg, err := client.TLSConfig(caFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: 0, // transfers may be long; requests carry contexts
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

func runContainerCreate(a *app, args []string) error {
	fs := newFlagSet("storage container create")
	target := a.blobFlags(fs)
	name := fs.String("name", "", "container name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	t, err := target()
	if err != nil {
		return err
	}
	if _, err := t.api.do(http.MethodPut, t.endpoint+*name+"?restype=container", nil, -1, nil, http.StatusCreated); err != nil {
		return err
	}
	return a.emit(map[string]any{"created": true, "name": *name}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "created container %s\n", *name)
		return err
	})
}

func runContainerDelete(a *app, args []string) error {
	fs := newFlagSet("storage container delete")
	target := a.blobFlags(fs)
	name := fs.String("name", "", "container name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	t, err := target()
	if err != nil {
		return err
	}
	_, err = t.api.do(http.MethodDelete, t.endpoint+*name+"?restype=container", nil, -1, nil, http.StatusAccepted)
	return err
}

type containerJSON struct {
	Name         string            `json:"name" xml:"Name"`
	LastModified string            `json:"lastModified" xml:"Properties>Last-Modified"`
	ETag         string            `json:"etag" xml:"Properties>Etag"`
	Metadata     map[string]string `json:"metadata,omitempty" xml:"-"`
}

func runContainerList(a *app, args []string) error {
	fs := newFlagSet("storage container list")
	target := a.blobFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := target()
	if err != nil {
		return err
	}
	var all []containerJSON
	marker := ""
	for {
		var page struct {
			Containers []containerJSON `xml:"Containers>Container"`
			NextMarker string          `xml:"NextMarker"`
		}
		if err := t.api.getXML(t.endpoint+"?comp=list&marker="+url.QueryEscape(marker), &page); err != nil {
			return err
		}
		all = append(all, page.Containers...)
		if marker = page.NextMarker; marker == "" {
			break
		}
	}
	return a.emit(all, func(w io.Writer) error {
		tab := newTable(w, "NAME", "LAST MODIFIED")
		for _, c := range all {
			if tm, err := time.Parse(http.TimeFormat, c.LastModified); err == nil {
				c.LastModified = formatTime(tm)
			}
			tab.row(c.Name, c.LastModified)
		}
		return tab.flush()
	})
}
