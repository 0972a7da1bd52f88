// Command router runs the router service: user/device to gateway routing per region.
package main

import (
	"github.com/parleychat/parley/router/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
