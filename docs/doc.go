// Package docs holds lbauthz's documentation pages (Markdown, beside this
// file). It has no code: its test keeps the documentation honest, checking
// that the README stays short, that every relative link of the README, the
// changelog and these pages leads to a file and heading that exist, and that
// no page holds benchmark figures copied by hand (they belong in
// bench/results, written by make bench).
package docs
