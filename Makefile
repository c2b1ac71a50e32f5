# CloudCX Auth. The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
DEMO_TENANT ?= demo
DEMO_ADMIN ?= admin@demo.example

.PHONY: run test openapi web lint fmt build clean-data bench soak

## Build the web app and start the service on the embedded SQLite database (data/), with a
## demo site and admin whose generated password is printed once, at the first start.
## The app is served as http://localhost:PORT: passkeys (WebAuthn) need a domain name, never an IP address.
run: web
	listen=$${AUTH_LISTEN:-127.0.0.1:8080}; \
	AUTH_PUBLIC_URL=$${AUTH_PUBLIC_URL:-http://localhost:$${listen##*:}} \
	AUTH_BOOTSTRAP_TENANT=$${AUTH_BOOTSTRAP_TENANT:-$(DEMO_TENANT)} \
	AUTH_BOOTSTRAP_ADMIN_EMAIL=$${AUTH_BOOTSTRAP_ADMIN_EMAIL:-$(DEMO_ADMIN)} \
	$(CARGO) run --release -p cloudcx-auth -- serve

## The whole suite: unit tests, the black-box suite on SQLite and PostgreSQL, the spec drift test.
test:
	bash scripts/test.sh

## Regenerate openapi.yaml from the code and the web app's API types from it (tests fail when stale).
openapi:
	$(CARGO) run -q -p cloudcx-auth -- openapi > openapi.yaml
	cd web && { [ -d node_modules/vite ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent gen

## The web app (web/dist), served by the API at /.
web:
	cd web && { [ -d node_modules/vite ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build

build:
	$(CARGO) build --release -p cloudcx-auth

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd web && npm run --silent lint && node --test scripts/

fmt:
	$(CARGO) fmt --all

## Forget the embedded database and the generated keys (the next `make run` starts afresh).
clean-data:
	rm -rf data

## Performance: the release binary on PostgreSQL (loopback) under wrk, each scenario beside its
## ceiling; results in target/bench/results.md (copy them into docs/PERFORMANCE.md). Never part of `make test`.
## BENCH_SECONDS (per scenario, default 30), BENCH_CONNECTIONS (16), BENCH_ONLY, BENCH_PERF=1: see bench/bench.py.
bench:
	python3 bench/bench.py bench

## 10 minutes of mixed load (SOAK_SECONDS to change it): no 5xx, resident size grows < 10 %.
soak:
	python3 bench/bench.py soak
