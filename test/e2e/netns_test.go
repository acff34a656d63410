package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/signet-platform/signet/internal/agent/host"
)

const netnsChildEnv = "SIGNET_E2E_NETNS_CHILD"

// TestIMDSAtTheLinkLocalAddressInANetworkNamespace runs Signet, an agent
// listening on 169.254.169.254:80 and an unmodified ManagedIdentityCredential
// together inside a network namespace the test creates: the real IMDS
// address, no transport rewrite, nothing changed in the client.
//
// The test re-runs its own binary inside the namespace; that run does the
// client half (imdsInNamespace).
func TestIMDSAtTheLinkLocalAddressInANetworkNamespace(t *testing.T) {
	if os.Getenv(netnsChildEnv) != "" {
		imdsInNamespace(t)
		return
	}
	ip, err := exec.LookPath("ip")
	if os.Geteuid() != 0 || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("needs root and iproute2's ip (euid %d, ip: %v)", os.Geteuid(), err)
		}
		t.Skip("needs root and iproute2's ip")
	}
	ns := fmt.Sprintf("signet-e2e-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	run("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	run("netns", "exec", ns, "ip", "addr", "add", "169.254.169.254/32", "dev", "lo")

	cmd := exec.Command(ip, "netns", "exec", ns, os.Args[0], "-test.run", "^TestIMDSAtTheLinkLocalAddressInANetworkNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("inside %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the client inside the namespace failed: %v", err)
	}
}

// imdsInNamespace is the half that runs inside the namespace.
func imdsInNamespace(t *testing.T) {
	s := startSignet(t, "")
	h := newTestHostWith(t, s, nil, func(c *host.Config) {
		c.IMDSAddr = "169.254.169.254:80"
		// Inside this namespace the workload's source address is the
		// link-local one itself.
		c.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}
	})
	clearMIEnv(t)
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	h.checkTokenFor(t, cred, "https://vault.azure.net", h.sysOID, h.vmID)
	ua := h.uamis[0]
	cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(*ua.Properties.ClientID)})
	if err != nil {
		t.Fatal(err)
	}
	h.checkTokenFor(t, cred, "https://storage.azure.com", *ua.Properties.PrincipalID, *ua.ID)
	t.Setenv("PATH", "")
	dac, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	h.checkTokenFor(t, dac, "api://netns-default-credential", h.sysOID, h.vmID)
}
