module github.com/parleychat/parley/deploy/parleyctl

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/parleychat/parley/shared v0.0.0
)

require github.com/golang-jwt/jwt/v5 v5.3.1 // indirect

replace github.com/parleychat/parley/shared => ../../shared
