# syntax=docker/dockerfile:1
# Build: docker build -t booking .   Migrate: docker run --rm --env-file .env booking booking migrate
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY alembic ./alembic
RUN python -m venv /opt/booking && /opt/booking/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /var/lib/booking booking
COPY --from=build /opt/booking /opt/booking
ENV PATH=/opt/booking/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BOOKING_DATABASE_URL=sqlite:////var/lib/booking/booking.db
USER booking
WORKDIR /var/lib/booking
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/reason-codes', timeout=2)"
CMD ["booking", "serve", "--host", "0.0.0.0", "--port", "8000"]
