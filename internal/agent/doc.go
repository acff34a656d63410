// Package agent is the workload-facing half of Signet's host agent: the
// three local managed-identity endpoints, the token cache behind them and the
// STS client that fills it.
//
// It owns:
//   - the IMDS endpoint (wire-protocol reference §1): GET
//     /metadata/identity/oauth2/token and GET /metadata/instance;
//   - the App Service endpoint (§2.1, and the legacy 2017-09-01 form of §2.2);
//   - the Azure Arc (HIMDS) endpoint with its key-file challenge (§3);
//   - the token cache: keyed by (client id, normalized resource), misses
//     coalesced into one fetch, proactive refresh at half-life, stale tokens
//     served while the STS is unreachable until ExpiryMargin before expiry
//     (§5.3 explains why clients need refresh_in);
//   - the STS client: RFC 7523 client assertions signed with the identity's
//     certificate key (PS256, x5t#S256 as MSAL Go writes it, §6.4), the
//     client_credentials grant (RFC 6749 §4.4) against a list of STS
//     regions with failover and per-region backoff.
//
// Seams: which identities a host (or an app on it) has, and the key and
// certificate each signs with, come from an IdentitySource; App Service
// secrets resolve through an AppSecrets. Enrollment and MIRP certificate
// handling implement those elsewhere. Handlers are plain http.Handlers; the
// composition root binds the listeners.
//
// The agent reaches Signet's servers over HTTP only: this package must not
// import sts, keys, store or any other server-side Signet package.
package agent
