// Package browser drives the web console in a real browser: Debian's
// chromium, headless, through playwright-core (test/browser/package.json,
// locked), against a `signet dev` started as a separate process. The Go
// test builds and starts Signet and runs console.spec.mjs with node; the
// screenshots are kept in test/browser/artifacts.
//
// It imports nothing of Signet but the client package (to read the dev env
// file): it sees Signet only as a user does, over HTTPS and the agent.
package browser
