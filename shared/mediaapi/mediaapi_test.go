package mediaapi

import (
	"strings"
	"testing"
)

// The gateway relays /internal/v1/messages/... (and /internal/v1/media/...)
// to the public; the readers route must not be reachable that way.
func TestMessageReadersIsOutsideTheRelayedPrefixes(t *testing.T) {
	for _, relayed := range []string{"/internal/v1/messages", "/internal/v1/media", "/internal/v1/auth", "/internal/v1/groups"} {
		if PathMessageReaders == relayed || strings.HasPrefix(PathMessageReaders, relayed+"/") {
			t.Errorf("%s lies under the relayed prefix %s", PathMessageReaders, relayed)
		}
	}
}
