// Package client is the Go client for Signet's own APIs: it gets access
// tokens from the STS by client credentials and calls the ARM-shaped control
// plane (resource groups, resources with their identity block, user-assigned
// identities, role definitions and assignments, sign-in and activity logs,
// signing-key rotation, and MIRP's node enrollment: join tokens and nodes),
// the audit logs (query, export, verify), key vaults and their secrets
// (VaultClient speaks the Key Vault data plane, following its challenge).
//
// Wire shapes follow Azure Resource Manager (see azure-wire-protocol.md §10)
// and Entra's token endpoint (§6.3, §6.6), so what a user learns here carries
// over to Azure and back. Errors from either service come back as *Error.
//
// It is importable by users, so it imports only the standard library and
// nothing of Signet: it reaches the servers over HTTPS and nothing else.
package client
