# The two commands of the README, and what they need. Every Node command goes through
# scripts/with-node24.sh, which brings Node 24 when the machine's Node is older.
SHELL := /bin/bash
NODE := scripts/with-node24.sh

.PHONY: start test check build conformance bench deps images test-k8s

# Dependencies at the lockfile's versions, installed again whenever it changes. `npm install`,
# not `npm ci`: the lockfile written here lacks other platforms' optional packages (@swc/core-*),
# which npm ci then reports as missing; npm install installs the same locked tree.
node_modules/.installed: package.json package-lock.json scripts/with-node24.sh
	$(NODE) npm install --no-audit --no-fund --loglevel=error
	touch $@

deps: node_modules/.installed

build: deps
	$(NODE) npm run build

## start: the server on the embedded defaults (PGlite under ./data, in-process events, inline bots).
start: build
	$(NODE) npm start

## test: format, lint, layer rules, type check, unit + integration + e2e tests, MCP conformance,
## the REST contract (schemathesis against the OpenAPI document), the container images, and
## BOT_LAUNCHER=kubernetes on a single-node cluster (skipped, saying why, where it cannot run).
test: deps
	$(NODE) npm run check
	scripts/conformance.sh
	scripts/schemathesis.sh
	$(NODE) node scripts/jest.mjs --config test/images/jest.config.js
	MP_K8S_TESTS=auto scripts/k8s/test.sh

## test-k8s: BOT_LAUNCHER=kubernetes on the single-node cluster (test/k8s; root; about 90 s once
## the cluster is built, docs/k8s-cluster.md).
test-k8s: deps
	scripts/k8s/test.sh

## images: dist/images/bot-runner.oci.tar and dist/images/api.oci.tar (docs/images.md).
images: deps
	scripts/images/build-runner-image.sh
	scripts/images/build-api-image.sh

check: test

conformance: deps
	scripts/conformance.sh

bench: deps
	$(NODE) npm run bench
