# citybase: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
export UV_LINK_MODE ?= copy

.PHONY: install demo test lint format bench airflow clean

$(BIN)/citybase: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen
	@touch $@

install: $(BIN)/citybase

demo: install ## simulate a small city, run the pipeline through Airflow, publish, summarise
	$(BIN)/citybase demo

test: install ## the whole test suite
	$(BIN)/pytest -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## performance benchmarks (not timed tests)
	$(BIN)/python -m bench

airflow: install ## the real scheduler, API server and UI on the project's DAGs (http://localhost:8080)
	$(BIN)/citybase airflow standalone

clean:
	rm -rf .citybase .airflow
