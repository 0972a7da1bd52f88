package http

import (
	"sync"

	"github.com/parleychat/parley/shared/ids"
)

// rosterCache keeps encoded rosters by group and version, so the hot read
// (messagesvc asks on group sends) costs one small read of the group's
// version instead of reading and encoding every member. An entry of an
// older version is never served: the version moves with every change.
type rosterCache struct {
	mu       sync.Mutex
	entries  map[ids.ID]rosterEntry
	bytes    int
	maxBytes int
}

type rosterEntry struct {
	version int64
	body    []byte
}

func newRosterCache(maxBytes int) *rosterCache {
	return &rosterCache{entries: map[ids.ID]rosterEntry{}, maxBytes: maxBytes}
}

func (c *rosterCache) get(group ids.ID, version int64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[group]; ok && e.version == version {
		return e.body
	}
	return nil
}

// put stores body unless a newer version is cached; past the budget it
// drops arbitrary entries (map order), cheap and good enough for a cache
// that refills with one read.
func (c *rosterCache) put(group ids.ID, version int64, body []byte) {
	if len(body) > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[group]; ok {
		if old.version > version {
			return
		}
		c.bytes -= len(old.body)
	}
	for k, e := range c.entries {
		if c.bytes+len(body) <= c.maxBytes {
			break
		}
		delete(c.entries, k)
		c.bytes -= len(e.body)
	}
	c.entries[group] = rosterEntry{version: version, body: body}
	c.bytes += len(body)
}
