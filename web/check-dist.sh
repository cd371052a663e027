#!/bin/sh
# Proves that the committed web/dist is what the locked toolchain builds
# from the committed sources: rebuild from the lockfile, then fail if
# anything in web/dist changed (or appeared).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
if ! git diff --exit-code --stat -- dist || [ -n "$(git ls-files --others --exclude-standard -- dist)" ]; then
  echo "web/dist differs from a fresh build: run 'cd web && npm ci && npm run build' and commit web/dist" >&2
  git status --short -- dist >&2
  exit 1
fi
echo "web/dist matches a fresh build from the lockfile"
