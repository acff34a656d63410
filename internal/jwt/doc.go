// Package jwt owns Signet's access-token format: the claim set (shaped like
// Azure's, wire-protocol reference section 7), RS256 signing (RFC 7515, RFC
// 7518 §3.3), strict parsing of compact JWS for incoming client assertions
// (PS256 or RS256, reference section 6.4), a verifier for access tokens over a
// key set, JWKS types (RFC 7517) and a remote JWKS cache for relying parties
// that run in their own processes.
//
// Only RS256 and PS256 can ever be accepted. "none", the HMAC algorithms (the
// HMAC-keyed-with-the-public-key confusion) and everything else are refused
// before any key is used.
//
// This package must not import any other Signet package: relying parties
// verify tokens with it alone.
package jwt
