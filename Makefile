# phaseprobe — see README.md. Every target runs on the pure-Go backend unless it says otherwise.
GO       ?= go
BIN      := bin/phaseprobe
PY       := /usr/bin/python3
# The Slurm test needs root (it starts slurmctld and slurmd on loopback); elsewhere it skips.
REQUIRE_SLURM := $(shell [ "$$(id -u)" = 0 ] && echo 1 || echo 0)
export GOMLX_NO_AUTO_INSTALL := 1

.PHONY: all build build-gpu test test-short demo bench lint deps ci-deps clean fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/phaseprobe

# The XLA/PJRT backend needs cgo (gcc); run the result with --backend xla:/abs/path/plugin.so.
build-gpu:
	CGO_ENABLED=1 $(GO) build -tags xla -o bin/phaseprobe-gpu ./cmd/phaseprobe

# Outside readers used by the tests: DuckDB (npm) reads every table the tests write.
deps: tools/duckdb/node_modules/@duckdb/node-api/package.json

tools/duckdb/node_modules/@duckdb/node-api/package.json: tools/duckdb/package.json
	cd tools/duckdb && npm install --no-audit --no-fund --silent
	touch $@

ci-deps: deps

# The whole suite, with every outside reader required (no skips).
test: deps
	PHASEPROBE_REQUIRE_DUCKDB=1 PHASEPROBE_REQUIRE_CHROMIUM=1 PHASEPROBE_REQUIRE_TORCH=1 PHASEPROBE_REQUIRE_SLURM=$(REQUIRE_SLURM) \
		$(GO) test -count=1 -timeout 14m ./...
	$(MAKE) fuzz FUZZTIME=3000x

# Fuzz the spec parser and the Parquet and checkpoint readers (seed corpora also run in go test).
# `make test` gives each target a count of inputs, not a duration: on go1.26 a duration
# (-fuzztime 5s) can end in a spurious "context deadline exceeded" failure when a loaded
# machine's worker is still busy at the deadline (golang/go#75804, fixed in go1.27), which
# failed a CI run here; a count has no deadline to race.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./train -run '^$$' -fuzz '^FuzzParseSpec$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train -run '^$$' -fuzz '^FuzzReadCheckpoint$$' -fuzztime $(FUZZTIME)
	$(GO) test ./data -run '^$$' -fuzz '^FuzzReadTable$$' -fuzztime $(FUZZTIME)

test-short:
	$(GO) test -short -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build
	./$(BIN) sweep examples/demo.yaml --out demo-runs --jobs 2
	./$(BIN) analyze demo-runs/demo --jobs 2
	./$(BIN) report demo-runs/demo

bench: build
	bash bench/run.sh

clean:
	rm -rf bin demo-runs
