module github.com/parleychat/parley/deploy/e2e

go 1.26.0

require (
	github.com/apache/cassandra-gocql-driver/v2 v2.1.2
	github.com/gorilla/websocket v1.5.3
	github.com/parleychat/parley/shared v0.0.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
)

replace github.com/parleychat/parley/shared => ../../shared
