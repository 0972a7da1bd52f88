package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	authsvc "github.com/parleychat/parley/authsvc/module"
	"github.com/parleychat/parley/shared/config"
)

// bootstrapAdmin is authsvc's bootstrap-admin subcommand on the all-in-one
// data directory:
//
//	echo "$PASSWORD" | parley bootstrap-admin -username root [-data-dir ./data]
//
// -data-dir (or CHAT_DATA_DIR) names the same directory parley runs on;
// every other flag is authsvc's (-auth.*, -log.*). Like authsvc's, it
// needs the store unlocked, so it runs while parley is stopped.
func bootstrapAdmin(ctx context.Context, args []string, lookupEnv func(string) (string, bool)) error {
	dataDir := "./data"
	if v, ok := lookupEnv(config.EnvName("data-dir")); ok && v != "" {
		dataDir = v
	}
	rest := []string{"-log.format=text"}
	authDirGiven := false
	if v, ok := lookupEnv(config.EnvName("auth.data-dir")); ok && v != "" {
		authDirGiven = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
		case name == "data-dir":
			if !hasVal {
				if i+1 >= len(args) {
					return errors.New("bootstrap-admin: -data-dir needs a value")
				}
				i++
				val = args[i]
			}
			dataDir = val
			continue
		case name == "auth.data-dir":
			authDirGiven = true
		}
		rest = append(rest, a)
	}
	if !authDirGiven {
		rest = append(rest, "-auth.data-dir="+filepath.Join(dataDir, authsvc.Name))
	}
	return authsvc.Run(ctx, append([]string{"bootstrap-admin"}, rest...))
}
