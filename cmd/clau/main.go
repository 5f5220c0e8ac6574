// Command clau is Clau's one binary: the server (`serve`, `demo`) and the
// operator's commands (migrate, offices, officers, citizens, audit, keys,
// seed). main builds every dependency from the configuration and passes it
// to constructors; nothing is global.
//
// Exit codes: 0 success, 1 failure at run time (database down, port in
// use), 2 bad usage, bad configuration or invalid input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // pages show times in Europe/Madrid even where the system has no zone data
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError is bad usage or invalid input: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

const usage = `Clau: electronic identification for public administrations.

Usage: clau <command> [flags]

Commands:
  serve      run the server (embedded defaults with no --config)
  demo       run the server with a demo service provider and sample data
  migrate    apply database migrations (--status to show the version)
  version    print the version
  office     add | list registration offices
  officer    add | list | token | enroll office staff
  citizen    add | show | list | count citizens
  registry   import | show | count the reference registry (letter registration)
  audit      verify | export the audit trail
  keys       list | rotate | retire keys that seal secret columns;
             oidc-list | oidc-rotate the OpenID provider's signing keys
  sp         oidc list | add | show | remove  OpenID Connect services at run time;
             saml list | add | remove  SAML service providers at run time
  notify     test: send a test SMS or email through the configured driver
  seed       --citizens N: create N synthetic citizens (load tests)

Every command takes --config FILE (or CLAU_CONFIG); every key can also come
from CLAU_<KEY> and CLAU_<KEY>_FILE environment variables. See
clau.example.yaml and docs/operator-guide.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"serve":    cmdServe,
		"demo":     cmdDemo,
		"migrate":  cmdMigrate,
		"version":  func(context.Context, []string, io.Writer) error { fmt.Fprintln(stdout, "clau", version); return nil },
		"office":   cmdOffice,
		"officer":  cmdOfficer,
		"citizen":  cmdCitizen,
		"audit":    cmdAudit,
		"keys":     cmdKeys,
		"sp":       cmdSP,
		"notify":   cmdNotify,
		"seed":     cmdSeed,
		"registry": cmdRegistry,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "clau: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "clau %s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) || isConfigError(err) {
		return 2
	}
	return 1
}
