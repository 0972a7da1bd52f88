package usecase

import (
	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

// GroupMessage pushes a stored group message to users' devices with one
// frame for all of them, encoded once here: the router groups the item's
// connections per gateway and each gateway prepares the frame once for
// all its connections, so nothing is encoded or sent per member. The frame
// carries no inbox cursor (a cursor is per user); devices keep the cursor
// of their last sync. With from set, the sender's own devices get their
// copy with the client message id, except the sending device.
func (p *Pusher) GroupMessage(msg entity.Message, users []ids.ID, from *Sender) {
	others := users
	if from != nil {
		others = Others(users, from.UserID)
		own := &protocol.MessagePush{Message: forUser(msg, protocol.UserID(from.UserID))}
		p.enqueue([]routerapi.DeliveryItem{{Users: []ids.ID{from.UserID}, Frame: protocol.Encode(own),
			Skip: []routerapi.Conn{{UserID: from.UserID, DeviceID: from.DeviceID}}}})
	}
	if len(others) == 0 {
		return
	}
	frame := protocol.Encode(&protocol.MessagePush{Message: ToProtocol(msg)})
	// Items of at most maxGroupItemUsers users each, queued one by one, so
	// no deliver call exceeds the router's limit however large the group.
	for start := 0; start < len(others); start += maxGroupItemUsers {
		chunk := others[start:min(len(others), start+maxGroupItemUsers)]
		p.enqueue([]routerapi.DeliveryItem{{Users: chunk, Frame: frame}})
	}
}

// maxGroupItemUsers bounds the users of one group push item.
const maxGroupItemUsers = maxUsersPerCall / 2
