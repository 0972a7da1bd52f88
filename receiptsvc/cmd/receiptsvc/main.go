// Command receiptsvc runs the receiptsvc service: received/read acknowledgements and receipts.
package main

import (
	"github.com/parleychat/parley/receiptsvc/module"
	"github.com/parleychat/parley/shared/kit"
)

func main() { kit.Main(module.Name, module.Run) }
