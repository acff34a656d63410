// Package console is Signet's web console for operators, served under
// /console on the management listener: an overview with sign-ins per hour,
// identities (system- and user-assigned) with where each is assigned and
// its role assignments, resources with their identity blocks, role
// assignments (create and delete), the sign-in, activity and access logs,
// and one page per identity that follows its tokens from issue (sign-in)
// to use (access records carrying the token's uti).
//
// It is a backend-for-frontend: every session holds a *client.Client that
// acts as the signed-in principal, and the console reaches the STS and the
// control plane only over HTTPS through package client. What an operator
// may see or change is what that principal's role assignments allow; the
// control plane decides. It must not import store, arm, sts or keys (an
// import-boundary test holds it to that).
//
// Sign-in is a service principal's client id and secret, checked by getting
// a token from the STS, or under `signet dev` a one-time login link (a
// random code, single use, valid ten minutes, kept only in this process's
// memory) that signs in as the dev admin. Sessions are server-side, named by
// a random 256-bit id in a __Host- cookie (Secure, HttpOnly,
// SameSite=Strict), and end after 15 idle minutes or 8 hours.
//
// Browser security follows tailscale's safeweb: GET never changes state;
// every state-changing request is a POST carrying a per-session CSRF token
// (checked in constant time) and must not come cross-origin
// (Sec-Fetch-Site, else Origin against Host: http.CrossOriginProtection).
// Pages carry a strict Content-Security-Policy with no script at all
// (default-src 'none'), and the stylesheet is embedded in the binary:
// nothing is fetched from anywhere else at run time.
package console
