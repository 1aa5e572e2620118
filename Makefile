# Truecost: `make run` for the demo, `make test` for the whole suite.
SHELL := /bin/bash
GO ?= go
BIN := bin/truecost
export TRUECOST_DATABASE_URL ?= sqlite://var/truecost.db
PG_DEFAULT_URL := postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

.PHONY: all build run test test-go assets generate check-generated postgres chromium lint bench clean

all: build

## assets: third-party browser files from npm into static/vendor (never committed)
assets: static/vendor/htmx.min.js

static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

## generate: regenerate gqlgen and templ code
generate:
	$(GO) tool gqlgen generate
	$(GO) tool templ generate -path views

## build: the truecost binary in bin/
build: assets
	$(GO) build -o $(BIN) .

## run: build, migrate the embedded SQLite database, load the demo and serve
run: build
	./$(BIN) migrate
	./$(BIN) serve --demo

## check-generated: regenerate; under CI=true fail when that changed committed code
check-generated: generate
	@if [ "$$CI" = "true" ] && [ -n "$$(git status --porcelain -- graph views)" ]; then \
		echo "generated code is stale: run 'make generate' and commit:"; git status --short -- graph views; exit 1; fi

## postgres: start the local Postgres cluster when it is not running
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then \
			echo "starting Postgres"; pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start; \
			for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
		else echo "Postgres is not running and no local cluster was found"; fi; \
	fi

## chromium: install Debian's Chromium for the browser tests when missing
chromium:
	@if ! command -v chromium >/dev/null && [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing chromium"; \
			(apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); \
		else echo "chromium is missing (apt-get install chromium); browser tests will skip"; fi; \
	fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^node_modules/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## test: everything the tests need, then the whole suite: -race on every package but the root one,
## whose end-to-end tests drive the built binary in child processes
test: assets postgres chromium check-generated lint
	@if [ -z "$$TRUECOST_TEST_POSTGRES_URL" ] && { [ "$$CI" = "true" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }; then \
		export TRUECOST_TEST_POSTGRES_URL='$(PG_DEFAULT_URL)'; fi; \
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -vx 'github.com/truecost/truecost') && \
	$(GO) test -count=1 -timeout 20m .

## bench: ingestion throughput and memory against psql \copy and sqlite3 .import, export of a month
## to an S3 emulator beside ingesting it, repricing, closing a month and restating a closed one,
## and report shapes against the same GROUP BY over raw line items, as tables
## (BENCH_ROWS, BENCH_CUSTOMERS, BENCH_MONTHS, BENCH_BIG_ROWS size the data; BENCH_RAW_RUNS
## how often each raw reference runs; BENCH_EXPLAIN=1 prints plans)
bench: build postgres
	TRUECOST_TEST_POSTGRES_URL=$${TRUECOST_TEST_POSTGRES_URL:-$(PG_DEFAULT_URL)} \
		$(GO) test -run '^$$' -bench 'BenchmarkIngest|BenchmarkScale|BenchmarkReprice|BenchmarkCloseMonth|BenchmarkExport' -benchtime 1x -timeout 180m ./adapters/sqlstore/ ./adapters/awsbilling/

clean:
	rm -rf bin var static/vendor
