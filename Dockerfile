# syntax=docker/dockerfile:1
# CloudCX Auth: the API binary and the SPA in one image.
#   docker build -t cloudcx-auth .
#   docker run --rm -p 8080:8080 cloudcx-auth            # SQLite in /var/lib/cloudcx-auth/data
# With PostgreSQL, DATABASE_URL, AUTH_DATA_KEY and AUTH_JWT_KEY_FILE are required: see
# docker-compose.yml and docs/API.md ("Configuration").

# ---- 1. the Rust binary ---------------------------------------------------------------
FROM rust:1-bookworm AS api
# libpq for diesel's PostgreSQL backend (pq-sys); SQLite is bundled (libsqlite3-sys).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace: cargo needs every member's manifest (tests/ too), and the migrations
# are embedded into the binary from migrations/.
COPY Cargo.toml Cargo.lock ./
COPY api ./api
COPY tests ./tests
COPY migrations ./migrations
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p cloudcx-auth --bin cloudcx-auth \
 && install -D -m 0755 target/release/cloudcx-auth /out/cloudcx-auth

# ---- 2. the SPA ------------------------------------------------------------------------
FROM node:20-bookworm AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.jso[n] ./
RUN --mount=type=cache,target=/root/.npm \
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
    else npm install --no-audit --no-fund; fi
COPY web/ ./
# The API description, if the build generates its client from it (the glob makes it optional).
COPY openapi.yam[l] /src/
RUN npm run build \
 && if [ ! -f dist/index.html ]; then echo "web: npm run build made no dist/index.html" >&2; exit 1; fi

# ---- 3. the runtime ----------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 cloudcx \
 && useradd --system --uid 10001 --gid cloudcx --home-dir /var/lib/cloudcx-auth \
            --shell /usr/sbin/nologin cloudcx \
 && install -d -o cloudcx -g cloudcx -m 0750 /var/lib/cloudcx-auth /var/lib/cloudcx-auth/data
COPY --from=api /out/cloudcx-auth /usr/local/bin/cloudcx-auth
COPY --from=web /src/web/dist /srv/web
ENV AUTH_WEB_DIR=/srv/web \
    AUTH_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info
# The working directory holds data/ (the SQLite default: database, generated keys, mail files).
WORKDIR /var/lib/cloudcx-auth
USER cloudcx:cloudcx
EXPOSE 8080
# No curl in the image: bash's /dev/tcp asks GET /healthz on the port of AUTH_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${AUTH_LISTEN##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["cloudcx-auth"]
CMD ["serve"]
