# PineOpt: one container, one DuckDB file, the web app on port 8501 and the HTTP API on 8000.
# firejail needs to create namespaces: run with
#   docker run --cap-add SYS_ADMIN --security-opt seccomp=unconfined -p 8501:8501 pineopt
# The API answers outside the container only with a token (otherwise it listens on loopback):
#   docker run ... -e PINEOPT_API_TOKEN=... -p 8501:8501 -p 8000:8000 pineopt
# Without that, the sandbox self-test fails and strategies are refused (fail closed).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PINEOPT_HOME=/home/pineopt/data PINEOPT_JOBS_ROOT=/var/lib/pineopt/jobs

RUN apt-get update \
    && apt-get install -y --no-install-recommends firejail build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-sandbox.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && python -m venv --without-pip /opt/pineopt/sandbox-venv \
    && pip --python /opt/pineopt/sandbox-venv/bin/python install --no-cache-dir \
       -r requirements-sandbox.txt \
    && chmod -R a+rX /opt/pineopt

COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --create-home --uid 1000 pineopt \
    && mkdir -p /var/lib/pineopt/jobs /home/pineopt/data \
    && chown -R pineopt /var/lib/pineopt /home/pineopt/data \
    && chmod 711 /var/lib/pineopt

USER pineopt
EXPOSE 8501 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request as u,sys; g=lambda p: u.urlopen('http://127.0.0.1:'+p, timeout=4).status == 200; sys.exit(0 if g('8501/_stcore/health') and g('8000/api/health') else 1)"
CMD ["pineopt", "serve", "--address", "0.0.0.0", "--port", "8501", "--api-port", "8000"]
