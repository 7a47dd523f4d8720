# Fade District API and worker: one image, two commands.
#   api:    node dist/src/main.js     (migrates, then serves on $PORT; the default CMD)
#   worker: node dist/src/worker.js   (BullMQ consumers + scheduler; needs REDIS_URL)
#
# The image runs the compiled code directly: `npm start` has a `prestart` that rebuilds
# with tsc, a dev dependency that is not in this image.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- base
FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# ---------------------------------------------------------------- toolchain
# better-sqlite3 is a native addon: when no prebuilt binary can be fetched, npm compiles it.
# node-gyp then uses the headers that ship with the image's Node (no download).
FROM base AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local

# ---------------------------------------------------------------- build: all deps, tsc
FROM toolchain AS build
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

# ---------------------------------------------------------------- prod-deps: runtime deps only
FROM toolchain AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
 && npm cache clean --force

# ---------------------------------------------------------------- runtime: no toolchain, no dev deps
FROM base AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000
# Code stays owned by root (read-only for the app); only data/ is writable by it.
# package.json stays: its "type": "module" tells Node that dist/*.js are ES modules.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY email_templates ./email_templates
# data/: the SQLite file (when no DB_HOST / DATABASE_URL) and the `file` email backend's
# data/emails/. Mount a volume here to keep them.
RUN mkdir -p /app/data/emails && chown -R node:node /app/data
USER node
EXPOSE 8000
# Liveness only (the process answers). Readiness (database, Redis) is /health/ready/.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# main.js applies pending migrations (under Kysely's migration lock, so several replicas
# may start at once), then listens; SIGTERM drains in-flight requests and exits 0.
CMD ["node", "dist/src/main.js"]
