// Package mirp is MIRP, Signet's identity resource provider: the private CA
// that issues node and managed-identity certificates, node enrollment,
// credential issuance and revocation, and the agent-facing HTTP API.
//
// It owns:
//   - the MIRP CA: an ECDSA P-256 root created on first start, its PKCS#8
//     key sealed under the master key with additional data "mirp-ca:"+id.
//     It is not the HTTPS serving CA;
//   - node enrollment: a one-time, expiring join token bound to a host
//     resource (Microsoft.Compute/virtualMachines or
//     Microsoft.HybridCompute/machines) buys a short-lived node certificate
//     (CN and URI SAN signet://node/{id}, URI SAN signet://resource{armID});
//     a host resource has one active node at a time;
//   - identity certificates: over mTLS with its node certificate, an agent
//     sends a CSR per identity; MIRP signs it (CN = client id, URI SANs
//     signet://tenant/{tid}/client/{cid} and signet://principal/{oid}) only
//     if the identity is assigned to the node's host resource or to a
//     Microsoft.Web/sites resource placed on it, and records it as a
//     store.Credential of the identity's principal, which is what the STS
//     authenticates client assertions against;
//   - revocation: deleting that credential row (and marking the issued
//     certificate revoked) when the assignment ends, the identity or the
//     resource is deleted, or the node is removed. RevokeUnassigned does it
//     inside a caller's transaction; Server.Run repeats it as a safety net.
//
// App placement: a site is placed on a host by the ARM property
// properties.signetHostResourceId, the host's resource id. Only sites in the
// host's subscription are considered, as an App Service app and its plan
// share a subscription.
//
// Certificates are issued only for a key the CSR proves (its signature must
// verify); subject, SANs and extensions come from MIRP's templates, never
// from the CSR (RFC 2986 §3; RFC 5280 §4.2.1.6 for the URI SANs).
//
// It must not import the agent, sts, arm or server packages: it reaches the
// rest of Signet through the store.
package mirp
