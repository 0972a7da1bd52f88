package module

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/parleychat/parley/mediasvc/internal/store/cassandra"
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
//	mediasvc migrate -media.metadata.backend=cassandra -media.cassandra.hosts=… [-media.cassandra.keyspace=…]
func migrateCommand(ctx context.Context, args []string, cio cmdIO) error {
	var media MediaConfig
	var logCfg kit.LogConfig
	fs := flag.NewFlagSet("mediasvc migrate", flag.ContinueOnError)
	media.RegisterFlags(fs)
	logCfg.RegisterFlags(fs)
	if err := config.Parse(fs, args, cio.lookupEnv); err != nil {
		return err
	}
	if err := errors.Join(media.Validate(), logCfg.Validate()); err != nil {
		return err
	}
	logger := kit.ServiceLogger(logCfg, Name)
	if media.Metadata.Backend != "cassandra" {
		logger.Info("nothing to migrate: the embedded store creates its schema when it opens")
		return nil
	}
	if err := cassandra.Migrate(ctx, media.cassandra(), logger); err != nil {
		return err
	}
	fmt.Fprintf(cio.stdout, "keyspace %s is up to date\n", media.Metadata.Cassandra.Keyspace)
	return nil
}
