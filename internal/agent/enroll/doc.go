// Package enroll is the agent's side of MIRP, Signet's identity resource
// provider: it enrolls the host once with a join token, keeps the node
// certificate and one certificate per managed identity fresh over mTLS, and
// serves the synced identities to the workload endpoints as an
// agent.IdentitySource.
//
// Every private key is generated here and never leaves the host: MIRP sees
// only PKCS#10 requests (RFC 2986). Keys and certificates live in the
// state directory (mode 0700, files 0600, written atomically), so a
// restarted agent serves its identities at once, without a join token and
// before MIRP answers. Certificates are renewed at half-life; identities
// MIRP no longer lists are dropped and their keys deleted.
//
// It reaches MIRP over HTTPS only: it must not import mirp, store or any
// other server-side Signet package.
package enroll
