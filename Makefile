# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
KAFKA  := $(PYTHON) deploy/kafka-local/kafka_local.py

.PHONY: install test unit lint format demo kafka-fetch kafka-start kafka-stop kafka-status schemas clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

install: $(VENV)/.installed

kafka-fetch:
	$(KAFKA) fetch

kafka-start:
	$(KAFKA) start

kafka-stop:
	$(KAFKA) stop

kafka-status:
	$(KAFKA) status

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/streamalert

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

## make test: install, fetch the Kafka jars, start the local broker, run every test.
test: install kafka-start lint
	$(BIN)/pytest $(PYTEST_ARGS)

## make unit: the tests that need no broker.
unit: install
	$(BIN)/pytest -m "not kafka" $(PYTEST_ARGS)

## make demo: the local broker and a worker in the foreground; Ctrl-C stops both.
demo: install
	$(BIN)/python scripts/demo.py

schemas: install
	$(BIN)/streamalert schemas --out schemas

clean:
	rm -rf $(VENV) .venv-quix .pytest_cache .ruff_cache

## make bench: the benchmarks of docs/benchmarks.md on the local broker (a few minutes each);
## BENCH_ARGS="--scale 0.1" for a quick run, or e.g. BENCH=throughput for one benchmark.
BENCH ?= all
.PHONY: bench
bench: install kafka-start
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.run $(BENCH) $(BENCH_ARGS)

## make soak: 30 minutes of mixed traffic with a broker restart and a worker kill, on a broker
## of its own (MINUTES=3 for a quick one); exits non-zero on any loss. Not part of make test.
MINUTES ?= 30
.PHONY: soak
soak: install
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.soak --minutes $(MINUTES)
