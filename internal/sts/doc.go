// Package sts is Signet's token service: OpenID Connect discovery (v1 and
// v2 documents), the JWKS endpoint, and the OAuth 2.0 token endpoint on the
// paths Microsoft Entra uses (/{tenant}/oauth2/token and
// /{tenant}/oauth2/v2.0/token), answering with Entra's response and error
// shapes so MSAL and the Azure SDKs work against it unchanged
// (docs/ARCHITECTURE.md; reference sections 6 and 7).
//
// Only the client_credentials grant (RFC 6749 §4.4) is offered. Clients
// authenticate with a client secret (RFC 6749 §2.3.1, form or HTTP Basic) or
// a certificate-signed JWT client assertion (RFC 7523 §2.2, §3). Client
// authentication runs in the token dispatcher before any grant is called, so
// no grant can skip it. Every token request, granted or refused, is written
// to the sign-in log before the response is sent. A granted token's record
// commits while the token is signed, in one transaction with its
// assertion's replay marker (replay.go), so the RSA work and the commit
// overlap and a token exists only if its assertion was spent on it.
//
// It depends on signing, key publication and audit through small interfaces
// it owns (Signer, KeySource, SignInRecorder), and on store, jwt (parsing and
// verification of client assertions) and directory (secret verification).
// Relying parties must not import it: they verify tokens with jwt's Verifier.
package sts
