# One image; web, worker and beat are three commands of it (bin/web, bin/worker, bin/beat), and bin/release
# runs the migrations once per deploy. These are the same scripts `make run` and the test suite start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY . .
# Editable, as `make run` installs it: the code, templates and static files stay in /app.
RUN pip install -e .
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-real-secret-key-000000 \
      python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var/outbox && chown -R app:app /app/var

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["bin/web"]
