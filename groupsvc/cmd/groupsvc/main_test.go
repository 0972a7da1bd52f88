package main

import (
	"testing"

	"github.com/parleychat/parley/shared/kit/kittest"
)

func TestBinaryServesHealthAndStopsOnSIGTERM(t *testing.T) {
	kittest.CheckLifecycle(t, []string{"-internal.addr=127.0.0.1:0", "-groups.data-dir=" + t.TempDir(),
		"-groups.messages-url=", "-groups.auth-url="}, "internal")
}
