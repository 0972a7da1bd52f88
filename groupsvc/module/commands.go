package module

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/parleychat/parley/groupsvc/internal/store/cassandra"
	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
)

// cmdIO is what a subcommand reads and writes, replaceable in tests.
type cmdIO struct {
	stdout    io.Writer
	lookupEnv func(string) (string, bool)
}

func defaultIO() cmdIO { return cmdIO{stdout: os.Stdout, lookupEnv: os.LookupEnv} }

var commands = map[string]func(context.Context, []string, cmdIO) error{
	"migrate": migrateCommand,
}

// migrateCommand applies the Cassandra schema migrations and exits:
//
//	groupsvc migrate -groups.store.backend=cassandra -groups.cassandra.hosts=… [-groups.cassandra.keyspace=…]
func migrateCommand(ctx context.Context, args []string, cio cmdIO) error {
	var groups GroupsConfig
	var logCfg kit.LogConfig
	fs := flag.NewFlagSet("groupsvc migrate", flag.ContinueOnError)
	groups.RegisterFlags(fs)
	logCfg.RegisterFlags(fs)
	if err := config.Parse(fs, args, cio.lookupEnv); err != nil {
		return err
	}
	if err := errors.Join(groups.Validate(), logCfg.Validate()); err != nil {
		return err
	}
	logger := kit.ServiceLogger(logCfg, Name)
	if groups.Backend != "cassandra" {
		logger.Info("nothing to migrate: the embedded store creates its schema when it opens")
		return nil
	}
	if err := cassandra.Migrate(ctx, groups.cassandra(), logger); err != nil {
		return err
	}
	fmt.Fprintf(cio.stdout, "keyspace %s is up to date\n", groups.Cassandra.Keyspace)
	return nil
}
