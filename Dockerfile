# The image every Airflow component runs: the project and its locked environment, nothing else.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/citybase/.venv PATH=/opt/citybase/.venv/bin:$PATH
RUN pip install --no-cache-dir "uv>=0.5" && useradd --create-home --uid 50000 airflow
WORKDIR /opt/citybase
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev && chown -R airflow /opt/citybase
USER airflow
