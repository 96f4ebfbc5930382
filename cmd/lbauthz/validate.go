package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/assemble"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	print := fs.Bool("print", false, "print the config with its defaults filled in")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *path == "" {
		fmt.Fprintln(stderr, "lbauthz validate: --config is required")
		return exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz validate: %v\n", err)
		return exitError
	}
	sec, err := config.ReadSecrets(cfg, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz validate: %v\n", err)
		return exitError
	}
	if _, err := assemble.Engine(cfg, sec, zap.NewNop()); err != nil {
		fmt.Fprintf(stderr, "lbauthz validate: %v\n", err)
		return exitError
	}
	if *print {
		out, err := config.Marshal(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "lbauthz validate: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stdout, "%s\n", out)
	}
	fmt.Fprintf(stderr, "%s: ok\n", *path)
	return exitOK
}
