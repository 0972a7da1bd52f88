package main

import (
	"testing"

	"github.com/parleychat/parley/shared/kit/kittest"
)

func TestBinaryServesHealthOnBothListenersAndStopsOnSIGTERM(t *testing.T) {
	kittest.CheckLifecycle(t, []string{"-public.addr=127.0.0.1:0", "-internal.addr=127.0.0.1:0"}, "public", "internal")
}
