# Tollgate served as in production: gunicorn with uvicorn workers (ASGI), as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TOLLGATE_DATA_DIR=/data \
    TOLLGATE_STATIC_ROOT=/app/staticfiles \
    TOLLGATE_HOST=0.0.0.0 \
    TOLLGATE_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY gateway ./gateway
COPY channels_admin ./channels_admin
COPY tokens ./tokens
COPY audit ./audit
COPY accounts ./accounts
COPY usage ./usage
RUN pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
COPY locale ./locale

# Static files are collected at build time with throwaway secrets that are not kept.
RUN TOLLGATE_DATA_DIR=/tmp/build-data python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-data \
    && useradd --system --uid 10001 --home-dir /data tollgate \
    && mkdir -p /data && chown tollgate /data && chmod 0700 /data

USER tollgate
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TOLLGATE_PORT', '8000'), timeout=4)"

# gateway/gunicorn_conf.py: the same serving settings as `make serve`, from the environment.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py ensure_admin && exec gunicorn -c python:gateway.gunicorn_conf"]
