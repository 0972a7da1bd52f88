// Command gateway runs the public edge: client WebSockets and the public HTTP API.
package main

import (
	"github.com/parleychat/parley/gateway/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
