// Package e2e runs whole-system tests: a real Signet started in process on
// real HTTPS listeners, driven by the official Azure SDK for Go clients
// (azidentity, armmsi, armauthorization) and by Signet's own CLI.
package e2e
