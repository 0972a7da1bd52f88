// Command messagesvc runs the messagesvc service: durable messages, inboxes and delivery state.
package main

import (
	"github.com/parleychat/parley/messagesvc/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
