package module

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/authsvc/internal/store/cassandra"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
)

// BootstrapPasswordEnv carries the first admin's password to bootstrap-admin
// when stdin is not used.
const BootstrapPasswordEnv = "CHAT_AUTH_BOOTSTRAP_PASSWORD"

// cmdIO is what a subcommand reads and writes, replaceable in tests.
type cmdIO struct {
	stdin     io.Reader
	stdout    io.Writer
	lookupEnv func(string) (string, bool)
}

func defaultIO() cmdIO { return cmdIO{stdin: os.Stdin, stdout: os.Stdout, lookupEnv: os.LookupEnv} }

var commands = map[string]func(context.Context, []string, cmdIO) error{
	"migrate":         migrateCommand,
	"bootstrap-admin": bootstrapAdminCommand,
}

// commandFlags parses the -auth.* and -log.* flags of a subcommand (which
// needs no listener and no internal secret), plus extra ones.
func commandFlags(name string, args []string, cio cmdIO, extra func(*flag.FlagSet)) (AuthConfig, kit.LogConfig, error) {
	var auth AuthConfig
	var logCfg kit.LogConfig
	fs := flag.NewFlagSet("authsvc "+name, flag.ContinueOnError)
	auth.RegisterFlags(fs)
	logCfg.RegisterFlags(fs)
	if extra != nil {
		extra(fs)
	}
	if err := config.Parse(fs, args, cio.lookupEnv); err != nil {
		return auth, logCfg, err
	}
	return auth, logCfg, errors.Join(auth.Validate(), logCfg.Validate())
}

// migrateCommand applies the Cassandra schema migrations and exits:
//
//	authsvc migrate -auth.store.backend=cassandra -auth.cassandra.hosts=… [-auth.cassandra.keyspace=…]
func migrateCommand(ctx context.Context, args []string, cio cmdIO) error {
	auth, logCfg, err := commandFlags("migrate", args, cio, nil)
	if err != nil {
		return err
	}
	logger := kit.ServiceLogger(logCfg, Name)
	if auth.Store.Backend != "cassandra" {
		logger.Info("nothing to migrate: the embedded store creates its schema when it opens")
		return nil
	}
	if err := cassandra.Migrate(ctx, auth.cassandra(), logger); err != nil {
		return err
	}
	fmt.Fprintf(cio.stdout, "keyspace %s is up to date\n", auth.Store.Cassandra.Keyspace)
	return nil
}

// bootstrapAdminCommand creates the first admin account and exits:
//
//	echo "$PASSWORD" | authsvc bootstrap-admin -username root [store flags]
//	CHAT_AUTH_BOOTSTRAP_PASSWORD=… authsvc bootstrap-admin -username root
//
// The password comes from CHAT_AUTH_BOOTSTRAP_PASSWORD or the first line of
// stdin, never from a flag (flags show up in process listings). With the
// embedded store, run it while authsvc is stopped: the data file is locked.
func bootstrapAdminCommand(ctx context.Context, args []string, cio cmdIO) error {
	var username string
	auth, logCfg, err := commandFlags("bootstrap-admin", args, cio, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "username of the admin account to create")
	})
	if err != nil {
		return err
	}
	if username == "" {
		return errors.New("bootstrap-admin: -username is required")
	}
	pw, err := readPassword(cio)
	if err != nil {
		return err
	}
	logger := kit.ServiceLogger(logCfg, Name)
	st, err := openStore(ctx, auth, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	uc, _, err := newUseCases(auth, st, newLimiter(RateLimitConfig{Backend: "memory"}), logger, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	a, err := uc.BootstrapAdmin(ctx, username, pw)
	if err != nil {
		return fmt.Errorf("bootstrap-admin: %w", err)
	}
	fmt.Fprintf(cio.stdout, "created admin %s (id %s)\n", a.Username, a.ID)
	return nil
}

func readPassword(cio cmdIO) (string, error) {
	if pw, ok := cio.lookupEnv(BootstrapPasswordEnv); ok && pw != "" {
		return pw, nil
	}
	line, err := bufio.NewReader(cio.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("bootstrap-admin: read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("bootstrap-admin: no password: pipe it on stdin or set %s", BootstrapPasswordEnv)
	}
	return pw, nil
}
