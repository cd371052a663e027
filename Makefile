# Herald's two everyday commands, and their parts.
#
#   make test    Go tests (with -race), the TypeScript client's unit tests,
#                then the browser tests (skipped, with a message, unless
#                HERALD_TEST_CHROMIUM names a chromium binary)
#   make serve   go run ./cmd/herald serve
#
# The browser side (web/) needs Node 20+ and npm only to build and test it;
# `herald serve` embeds the committed build in web/dist.

.PHONY: test test-go test-web e2e web check-dist serve

test: test-go test-web e2e

test-go:
	go test -race -count=1 -timeout 30m ./...

test-web:
	cd web && npm ci --no-audit --no-fund && npm test

e2e:
	@if [ -z "$$HERALD_TEST_CHROMIUM" ]; then \
		echo "e2e: skipped: HERALD_TEST_CHROMIUM is unset (set it to a chromium binary, e.g. HERALD_TEST_CHROMIUM=/usr/bin/chromium after apt-get install chromium)"; \
	else \
		cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run e2e; \
	fi

# web rebuilds web/dist from the lockfile; commit the result.
web:
	cd web && npm ci --no-audit --no-fund && npm run build

# check-dist fails if the committed web/dist is not what the lockfile builds.
check-dist:
	sh web/check-dist.sh

serve:
	go run ./cmd/herald serve
