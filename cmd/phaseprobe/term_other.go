//go:build !unix

package main

import "io"

// terminalWidth reports every writer as not a terminal where the window-size request does not
// exist: progress prints plain periodic lines there.
func terminalWidth(io.Writer) (int, bool) { return 0, false }
