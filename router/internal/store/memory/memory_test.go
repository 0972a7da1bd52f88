package memory_test

import (
	"testing"

	"github.com/parleychat/parley/router/internal/store"
	"github.com/parleychat/parley/router/internal/store/memory"
	"github.com/parleychat/parley/router/internal/store/storetest"
)

func TestRegistryContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Registry { return memory.New() })
}
