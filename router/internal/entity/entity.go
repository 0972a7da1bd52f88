// Package entity holds the router's vocabulary: gateways, the device
// connections they hold, and the routes a lookup returns. They are the
// router's wire contract too, so they are defined once in shared/routerapi.
package entity

import "github.com/parleychat/parley/shared/routerapi"

type (
	// Gateway is one live gateway process of a region.
	Gateway = routerapi.Gateway
	// Conn is one device connection of a user.
	Conn = routerapi.Conn
	// Route says where a device connection lives.
	Route = routerapi.Route
)
