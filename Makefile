# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run run-stack stop-stack test test-quick stack-up stack-down checks

run: ## run the whole platform in one process on embedded stores in ./data; prints the URL to open (ARGS="-h" lists flags)
	cd allinone && go build -o ../.run/bin/parley ./cmd/parley
	exec .run/bin/parley $(ARGS)

run-stack: ## every service as its own process on the real stack (after stack-up): 2 regions x 2 gateways; prints the URLs
	bash deploy/run-stack.sh

stop-stack: ## stop what run-stack started
	bash deploy/stop-stack.sh

test: ## install and start the real stack, run every check and test, stop the stack
	bash deploy/test.sh

test-quick: ## what needs no servers: static checks and unit tests; real-backend tests skip loudly
	bash deploy/checks.sh
	CHAT_TEST_QUICK=1 go test -race -count=1 work

stack-up: ## start Redis, Redis Cluster, Cassandra and MinIO on 127.0.0.1
	bash deploy/stack/up.sh

stack-down:
	bash deploy/stack/down.sh

checks:
	bash deploy/checks.sh
