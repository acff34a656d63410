package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/cli"
)

// The storage and blob nouns of the CLI, as an operator and, with
// --identity, as a VM's managed identity through its agent.
func TestBlobCLI(t *testing.T) {
	s := startSignet(t, "")
	rg := s.Dev.ResourceGroup
	var acct struct {
		ID         string `json:"id"`
		Properties struct {
			PrimaryEndpoints struct{ Blob string } `json:"primaryEndpoints"`
		} `json:"properties"`
	}
	s.mustCLI(t, &acct, "storage account create", "--group", rg, "--name", "clistore")
	if acct.Properties.PrimaryEndpoints.Blob == "" {
		t.Fatalf("storage account create printed no blob endpoint: %+v", acct)
	}
	var accts []map[string]any
	s.mustCLI(t, &accts, "storage account list", "--group", rg)
	if len(accts) != 1 {
		t.Errorf("storage account list: %v", accts)
	}
	s.grant(t, s.Dev.ObjectID, authz.StorageBlobDataOwnerRoleID, acct.ID)
	where := []string{"--account-name", "clistore", "--group", rg}
	s.mustCLI(t, nil, append([]string{"storage container create", "--name", "files"}, where...)...)
	var containers []struct{ Name string }
	s.mustCLI(t, &containers, append([]string{"storage container list"}, where...)...)
	if len(containers) != 1 || containers[0].Name != "files" {
		t.Errorf("storage container list: %+v", containers)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "report.txt")
	data := patterned(5<<20, 7) // over the single-request size the CLI streams in one Put Blob
	os.WriteFile(src, data, 0o600)
	s.mustCLI(t, nil, append([]string{"blob upload", "--container", "files", "--file", src, "--name", "dir/report.txt"}, where...)...)
	var blobs []struct {
		Name string
		Size int64
	}
	s.mustCLI(t, &blobs, append([]string{"blob list", "--container", "files", "--prefix", "dir/"}, where...)...)
	if len(blobs) != 1 || blobs[0].Name != "dir/report.txt" || blobs[0].Size != int64(len(data)) {
		t.Errorf("blob list: %+v", blobs)
	}

	// A VM's identity with Reader on the account downloads; without a
	// writer role its upload is refused with the service's code.
	h := newTestHost(t, s)
	s.grant(t, h.sysOID, authz.StorageBlobDataReaderRoleID, acct.ID)
	dst := filepath.Join(dir, "copy.txt")
	runAsVM := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		env := map[string]string{"SIGNET_ENV_FILE": s.EnvFile, "HOME": t.TempDir(),
			"IDENTITY_ENDPOINT": h.agent.AppServiceURL(), "IDENTITY_HEADER": h.agent.HostSecret()}
		code := cli.Main(context.Background(), append([]string{"--output", "json"}, args...), strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		return out.String(), errb.String(), code
	}
	vmWhere := []string{"--account-name", "clistore", "--blob-endpoint", acct.Properties.PrimaryEndpoints.Blob, "--identity"}
	if _, stderr, code := runAsVM(append([]string{"blob download", "--container", "files", "--name", "dir/report.txt", "--file", dst}, vmWhere...)...); code != 0 {
		t.Fatalf("blob download --identity: exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes, not the %d uploaded", len(got), len(data))
	}
	_, stderr, code := runAsVM(append([]string{"blob upload", "--container", "files", "--file", src, "--name", "vm.txt"}, vmWhere...)...)
	if code == 0 || !strings.Contains(stderr, "AuthorizationPermissionMismatch") {
		t.Errorf("blob upload as a reader: exit %d, %q; want AuthorizationPermissionMismatch", code, stderr)
	}

	s.mustCLI(t, nil, append([]string{"blob delete", "--container", "files", "--name", "dir/report.txt"}, where...)...)
	s.mustCLI(t, nil, append([]string{"storage container delete", "--name", "files"}, where...)...)
	s.mustCLI(t, nil, "storage account delete", "--group", rg, "--name", "clistore")
}
