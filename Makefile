# Herald's two everyday commands, and their parts.
#
#   make test    Go tests (with -race), every Go fuzz target for FUZZTIME
#                (10s) each, the TypeScript client's unit tests, the
#                browser tests (skipped, with a message, unless
#                HERALD_TEST_CHROMIUM names a chromium binary), then the
#                official ACS SDKs against a fresh server (make compat)
#   make serve   go run ./cmd/herald serve
#
# The browser side (web/) needs Node 20+ and npm only to build and test it;
# `herald serve` embeds the committed build in web/dist.

.PHONY: test test-go fuzz test-web e2e compat web check-dist serve

test: test-go fuzz test-web e2e compat

test-go:
	go test -race -count=1 -timeout 30m ./...

# fuzz runs each native fuzz target for FUZZTIME (.ci/fuzz says how, and
# which failure of Go's fuzz engine itself it runs once more).
FUZZTIME ?= 10s
fuzz:
	FUZZTIME=$(FUZZTIME) .ci/fuzz

test-web:
	cd web && npm ci --no-audit --no-fund && npm test

e2e:
	@if [ -z "$$HERALD_TEST_CHROMIUM" ]; then \
		echo "e2e: skipped: HERALD_TEST_CHROMIUM is unset (set it to a chromium binary, e.g. HERALD_TEST_CHROMIUM=/usr/bin/chromium after apt-get install chromium)"; \
	else \
		cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run e2e; \
	fi

# compat drives a fresh server with the official ACS JavaScript SDKs
# (identity through a connection string, every chat operation over HTTPS);
# it needs Node 20+ and npm. See docs/acs-compat.md.
compat:
	cd compat/testdata/sdk && npm ci --no-audit --no-fund
	HERALD_TEST_ACS_SDK=1 go test -count=1 -v -run TestOfficialSDKs ./compat

# web rebuilds web/dist from the lockfile; commit the result.
web:
	cd web && npm ci --no-audit --no-fund && npm run build

# check-dist fails if the committed web/dist is not what the lockfile builds.
check-dist:
	sh web/check-dist.sh

serve:
	go run ./cmd/herald serve
