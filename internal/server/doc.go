// Package server is Signet's composition root: it opens the store, loads the
// master key and signing keys, builds every server part with struct literals,
// mounts each on its own HTTPS listener, runs the background tasks, and, for
// `signet dev`, bootstraps a tenant, subscription, resource group and admin
// principal and writes the env file programs and SDKs read. At its first
// Start it also tunes the Go runtime of its process (runtime.go): a heap
// goal of at least 64 MB and one P more than the cores, unless GOGC or
// GOMAXPROCS is set.
//
// Only cmd/signet imports it. It is the one place that knows every part; the
// parts know each other only through the small interfaces they declare.
package server
