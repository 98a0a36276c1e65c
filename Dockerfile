# PineOpt: one container, one DuckDB file (a volume), the web app on port 8501, the HTTP API on 8000,
# both served by one process (`pineopt serve`), the store's only owner.
# firejail needs to create namespaces and mounts; run it with (README, "Docker"):
#   docker run --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
#              [--security-opt apparmor=unconfined   # Ubuntu hosts (AppArmor)] \
#              -p 8501:8501 -v pineopt-data:/data pineopt
# Without them the sandbox self-test fails and strategies are refused (fail closed).
# The API answers outside the container only with a token (otherwise it listens on loopback):
#   docker run ... -e PINEOPT_API_TOKEN=... -p 8501:8501 -p 8000:8000 pineopt
# The same image is also a Dask scheduler or a sandboxed Dask worker (README, "Scale out on Dask";
# docker-compose.dask.yml):
#   docker run pineopt dask scheduler                       (ports 8786, dashboard 8787)
#   docker run --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
#              pineopt pineopt worker --scheduler tcp://SCHEDULER:8786

# --- build: wheels for everything, compiled here if a package has no wheel --------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-sandbox.txt /src/
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r /src/requirements.txt \
       -r /src/requirements-sandbox.txt

# --- run: no compiler; the same setup script as `make setup` on a host ------------------------
FROM python:3.11-slim
# container=docker: inside Docker's PID namespace firejail otherwise believes it is already
# sandboxed and runs strategies unprotected (the self-test then fails closed).
ENV container=docker PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/app/.venv/bin:$PATH \
    PINEOPT_HOME=/data \
    PINEOPT_SANDBOX_USER=pineopt-sandbox \
    PINEOPT_SANDBOX_HOME=/var/lib/pineopt-sandbox/pineopt-sandbox \
    PINEOPT_SANDBOX_VENV=/opt/pineopt/sandbox-venv \
    PINEOPT_JOBS_ROOT=/var/lib/pineopt/jobs

WORKDIR /app
COPY --from=build /wheels /wheels
COPY requirements.txt requirements-sandbox.txt ./
RUN python -m venv /app/.venv \
    && PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels /app/.venv/bin/pip install --no-cache-dir \
       -r requirements.txt
COPY . .
# setup_system.sh: apt-get install firejail, the unprivileged sandbox user with its own 0700 home,
# the sandbox interpreter (from the same wheels) and the jobs root (0711 root: the sandbox user
# cannot list other jobs). The app runs as root in the container only to start each sandbox as
# that separate user; user code never runs as root.
RUN /app/.venv/bin/pip install --no-cache-dir --no-deps -e . \
    && PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels ./scripts/setup_system.sh \
    && rm -rf /wheels /var/lib/apt/lists/* \
    && mkdir -p -m 0700 /data

VOLUME ["/data"]
EXPOSE 8501 8000 8786 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request as u,sys; g=lambda p: u.urlopen('http://127.0.0.1:'+p, timeout=4).status == 200; sys.exit(0 if g('8501/_stcore/health') and g('8000/api/health') else 1)"
CMD ["pineopt", "serve", "--address", "0.0.0.0", "--port", "8501", "--api-port", "8000"]
