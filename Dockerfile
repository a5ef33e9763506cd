# membot: slim, non-root, dependencies in their own cached layer, data in a volume.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEMBOT_DATA_DIR=/data \
    MEMBOT_HTTP_HOST=0.0.0.0

WORKDIR /app

# 1. Dependencies only (cached until pyproject.toml changes). The CPU build of
#    PyTorch first, so the embedding model does not pull a CUDA build.
COPY pyproject.toml README.md ./
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && python - <<'PY'
import subprocess, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
subprocess.check_call([sys.executable, "-m", "pip", "install", *deps])
PY

# 2. The code.
COPY agent_core ./agent_core
COPY adapters ./adapters
COPY bot ./bot
RUN pip install --no-deps . \
 && useradd --create-home --uid 10001 membot \
 && mkdir -p /data && chown membot:membot /data

USER membot
VOLUME ["/data"]
EXPOSE 3000 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)" || exit 1

ENTRYPOINT ["membot"]
CMD ["run"]
