package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/deploy/chatload/internal/load"
	"github.com/parleychat/parley/shared/protocol"
)

// buildGroups creates one group per GroupSize devices through the public
// groups API (the first member creates it with the others as members).
func (s *scenario) buildGroups(ctx context.Context) ([]*load.Conv, error) {
	base := s.c.API
	if base == "" {
		base = s.c.gatewayList()[0]
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	var convs []*load.Conv
	for g := 0; g+s.c.GroupSize <= len(s.devs); g += s.c.GroupSize {
		members := s.devs[g : g+s.c.GroupSize]
		var ids []string
		for _, m := range members[1:] {
			ids = append(ids, m.UserID().String())
		}
		tok, _ := members[0].Acc.Token()
		gid, err := createGroup(ctx, hc, base, tok, fmt.Sprintf("chatload %s %d", s.c.RunID, g/s.c.GroupSize), ids)
		if err != nil {
			return nil, fmt.Errorf("create group: %w", err)
		}
		c, err := load.NewConv(protocol.GroupConversation(gid), members)
		if err != nil {
			return nil, err
		}
		convs = append(convs, c)
	}
	return convs, nil
}

// createGroup calls POST /api/v1/groups {"name", "members"} and reads the
// new group's id from {"id"} or {"group":{"id"}}.
func createGroup(ctx context.Context, hc *http.Client, base, token, name string, members []string) (protocol.GroupID, error) {
	body, _ := json.Marshal(map[string]any{"name": name, "members": members})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v1/groups", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return 0, fmt.Errorf("POST /api/v1/groups: HTTP %d %s", resp.StatusCode, data)
	}
	var out struct {
		ID    protocol.GroupID `json:"id"`
		Group struct {
			ID protocol.GroupID `json:"id"`
		} `json:"group"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("POST /api/v1/groups: %w: %s", err, data)
	}
	if out.ID == 0 {
		out.ID = out.Group.ID
	}
	if out.ID == 0 {
		return 0, fmt.Errorf("POST /api/v1/groups: no group id in %s", data)
	}
	return out.ID, nil
}
