// Command authsvc runs the authsvc service: accounts, devices and JWT sessions.
package main

import (
	"github.com/parleychat/parley/authsvc/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
