// Command parley runs every Parley service in one process (-target=all),
// or a chosen set (-target=gateway,router), on embedded stores under
// -data-dir. `parley -h` lists every flag.
package main

import (
	"github.com/parleychat/parley/allinone/internal/app"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(app.Name, app.Run) }
