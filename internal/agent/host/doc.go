// Package host is the composition root of `signet agent`: it turns a Config
// into a running host agent. It enrolls the host with MIRP (or loads the
// enrollment kept in the state directory), keeps the identity list and
// certificates in step with MIRP, issues and persists the per-app secrets
// of the App Service endpoint, and binds the three workload endpoints of
// package agent (IMDS, reference §1; App Service, §2.1; Arc, §3) on plain
// HTTP listeners, as Azure's local endpoints are.
//
// The state directory is shared with package enroll (keys, certificates,
// identities.json). This package adds:
//
//	agent.json               the bound endpoint URLs (0600)
//	apps/<sha256 of app>.json {"app": id, "secret": s} per app, "" the host (0600)
//
// `signet run` reads both (RunEnv) to start a process as an app. A secret
// outlives agent restarts because msal-node reads IDENTITY_HEADER once per
// process (§2.1): a process started before a restart must keep working.
//
// Like the rest of the agent it reaches Signet's servers over HTTPS only:
// it must not import server, mirp, sts, store or any other server-side
// Signet package.
package host
