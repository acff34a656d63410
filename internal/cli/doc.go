// Package cli is the signet command line for everything but the server
// processes (`signet dev`, `signet server` and `signet agent` are wired in
// cmd/signet): resource groups, VMs and apps (Microsoft.Web/sites placed on
// a host) with their identity block, user-assigned identities, role
// definitions and assignments, node enrollment (join tokens, nodes), key
// vaults and secrets, storage accounts, containers and blobs, tokens, logs
// and signing keys. Data-plane commands take --identity to act as the
// host's managed identity through the local agent. One file per noun; a
// small dispatcher over stdlib flag sets.
//
// It reaches Signet only over HTTPS through package client, so it must not
// import any server package (store, sts, arm, server...).
//
// Output rules (after tailscale's docs/cli.md): results go to stdout,
// errors to stderr as "signet: <message>" (with the server's error code),
// and nothing else is printed. Exit status: 0 on success, 1 when the
// command failed, 2 on a usage error. --output json prints the ARM objects
// as the server returned them (indented; lists as a JSON array); --output
// table prints aligned columns, a stable set per noun. The default is table
// when stdout is a terminal and json otherwise, so scripts get JSON.
//
// Configuration comes from the environment (see client.ConfigFromEnv)
// layered over an env file: --env-file, else $SIGNET_ENV_FILE, else
// $HOME/.signet/dev/env when it exists (what `signet dev` writes). Variables
// set in the environment win over the file.
package cli
