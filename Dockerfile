# syntax=docker/dockerfile:1
# Build:   docker build -t booking .
# Migrate: docker run --rm --env-file .env booking booking migrate      (a one-off, before serving)
# Serve:   docker run --env-file .env -p 8000:8000 booking
# Without BOOKING_SECRET_KEY (development, SQLite) a random key is generated once into
# /var/lib/booking/booking.db.secret: keep that folder on a volume (-v booking:/var/lib/booking)
# so the database and its key survive the container. Production needs BOOKING_SECRET_KEY.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY alembic ./alembic
RUN python -m venv /opt/booking && /opt/booking/bin/pip install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/booking booking
COPY --from=build /opt/booking /opt/booking
ENV PATH=/opt/booking/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MALLOC_ARENA_MAX=2 \
    BOOKING_DATABASE_URL=sqlite:////var/lib/booking/booking.db
USER booking
WORKDIR /var/lib/booking
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["booking", "serve", "--host", "0.0.0.0", "--port", "8000"]
