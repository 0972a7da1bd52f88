// Command mediasvc runs the mediasvc service: attachments in S3-compatible storage.
package main

import (
	"github.com/parleychat/parley/mediasvc/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
