package module

import (
	"errors"
	"flag"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/messagesvc/internal/delivery/httpapi"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
)

// GroupConfig configures group conversations.
type GroupConfig struct {
	// PointerMax is the largest group whose messages get an inbox pointer
	// per member; larger groups' members pull on sync.
	PointerMax int
	// ReadersMax is the largest group whose readers can be listed.
	ReadersMax int
	// ReceiptWindow coalesces a group's receipt counts.
	ReceiptWindow time.Duration
	// CacheTTL bounds how long a roster is trusted without a group event.
	CacheTTL time.Duration
}

func (c *GroupConfig) registerFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.PointerMax, "messages.group-pointer-max", usecase.DefaultGroupPointerMax,
		"largest group whose messages get an inbox pointer per member; larger groups store no per-member row (members pull on sync)")
	fs.IntVar(&c.ReadersMax, "messages.group-readers-max", usecase.DefaultGroupReadersMax,
		"largest group whose message readers (who received/read, when) can be listed")
	fs.DurationVar(&c.ReceiptWindow, "messages.group-receipt-window", usecase.DefaultGroupReceiptWindow,
		"group acks within this window update the senders' counts once")
	fs.DurationVar(&c.CacheTTL, "messages.group-cache-ttl", 3*time.Second,
		"how long a group roster is cached without a group event (events drop it at once)")
}

func (c *GroupConfig) validate() error {
	if c.PointerMax < 1 || c.ReadersMax < 1 || c.ReceiptWindow <= 0 || c.CacheTTL <= 0 {
		return errors.New("messages.group-pointer-max, group-readers-max, group-receipt-window and group-cache-ttl must be positive")
	}
	return nil
}

// groupWiring is what the group features plug into.
type groupWiring struct {
	store    store.Store
	access   *usecase.Access
	ids      usecase.IDs
	pusher   *usecase.Pusher
	send     *usecase.SendMessage
	sync     *usecase.Sync
	convs    *usecase.Conversations
	receipts *usecase.Receipts
	logger   *slog.Logger
}

// wireGroups turns on group conversations when groupsvc is configured.
func wireGroups(cfg GroupConfig, groups usecase.Groups, api *gin.RouterGroup, w groupWiring) {
	if groups == nil {
		return
	}
	fanout := usecase.GroupFanout{PointerMax: cfg.PointerMax}
	w.send.SetGroupFanout(fanout)
	w.sync.SetGroups(groups, w.access)
	w.convs.SetGroups(groups)
	w.receipts.SetGroupReceipts(usecase.GroupReceiptsConfig{Window: cfg.ReceiptWindow, ReadersMax: cfg.ReadersMax, Logger: w.logger})
	httpapi.RegisterGroups(api, httpapi.GroupUseCases{
		Events:   usecase.NewGroupEvents(w.store, groups, w.ids, w.pusher, fanout),
		Receipts: w.receipts,
	})
}
