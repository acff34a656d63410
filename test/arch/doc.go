// Package arch checks the shape of the code base itself: which package may
// import which (docs/ARCHITECTURE.md), and that every package says what it
// owns in a package comment.
package arch
