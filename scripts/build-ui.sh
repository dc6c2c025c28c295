#!/bin/sh
# Build the web UI (ui/ → ui/dist) when its sources changed: the npm packages of the lock file
# (npm registry only), then TypeScript's check and Vite's build. Called by `make build`.
set -eu
cd "$(dirname "$0")/../ui"
if ! command -v npm >/dev/null 2>&1; then
	echo "berth: npm is missing; scripts/install-deps.sh installs Debian's nodejs and npm" >&2
	exit 1
fi
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "berth: installing the UI's npm packages (ui/package-lock.json)"
	# `npm install`, not `npm ci`: npm 11 records only this platform's optional packages
	# (rollup's and esbuild's native builds) in the lock file, and `npm ci` then refuses it as
	# out of sync. With a lock file and exact versions, `npm install` installs what it says.
	npm install --no-audit --no-fund --no-save --loglevel=error
	touch node_modules/.package-lock.json
fi
if [ -f dist/index.html ] &&
	[ -z "$(find src index.html vite.config.ts tsconfig.json package-lock.json -newer dist/index.html | head -1)" ]; then
	exit 0
fi
echo "berth: building the web UI"
npm run --silent build -- --logLevel warn
# precompressed copies: the proxy sends file.gz to clients that accept gzip
find dist -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) -exec gzip -9 -k -f -n {} +
