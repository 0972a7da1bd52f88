// Command groupsvc runs the groupsvc service: groups, roles and size limits.
package main

import (
	"github.com/parleychat/parley/groupsvc/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
