# newsworker image: the worker, the scheduler and the CLI.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY worker ./worker
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 newsworker
COPY config ./config

USER newsworker
ENTRYPOINT ["newsworker"]
CMD ["run"]
