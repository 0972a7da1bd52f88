module github.com/parleychat/parley/deploy/chatload

go 1.26.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/gorilla/websocket v1.5.3
	github.com/parleychat/parley/shared v0.0.0
)

replace github.com/parleychat/parley/shared => ../../shared
