# One image per service, built from the workspace root (compose passes SERVICE):
#   docker build --build-arg SERVICE=gateway -t pipeline-gateway .
# Plain Dockerfile syntax only (no `# syntax=` line, no RUN --mount, heredocs or
# COPY --parents): any builder builds it, BuildKit or the legacy one, offline,
# without fetching a frontend image.
# An image holds Bun, the production dependencies of that service's workspace
# (and of the workspace packages it uses) and the sources, owned by root and
# run as the unprivileged user `bun`.
ARG BUN_VERSION=1.4.5

# Every workspace's package.json, the lockfile and bunfig.toml, nothing else.
# `bun install --frozen-lockfile` needs all the manifests (the root package
# lists every workspace), and copying only them into the next stage means its
# install layer is rebuilt when a manifest or the lockfile changes, not when a
# source file does.
FROM oven/bun:${BUN_VERSION}-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out \
    && cp --parents package.json bun.lock bunfig.toml packages/*/package.json services/*/package.json /out/

# The service's dependencies alone: `--filter` installs the named workspace and
# the workspaces it depends on, `--production` leaves out devDependencies (the
# root's test and lint tools), `--frozen-lockfile` fails on a stale bun.lock.
FROM oven/bun:${BUN_VERSION}-slim AS deps
ARG SERVICE
RUN case "$SERVICE" in gateway|ingest|ai-worker|notifier) ;; \
      *) echo "build with --build-arg SERVICE=gateway|ingest|ai-worker|notifier (got '$SERVICE')" >&2; exit 1 ;; esac
WORKDIR /app
COPY --from=manifests /out/ ./
RUN bun install --frozen-lockfile --production --filter "@pipeline/${SERVICE}"

FROM oven/bun:${BUN_VERSION}-slim
ARG SERVICE
ENV NODE_ENV=production
# The local image storage's mount point, owned by `bun` so that a new named
# volume mounted there is writable (compose mounts the `media` volume).
RUN mkdir -p /media && chown bun:bun /media
WORKDIR /app
COPY --from=deps /app/ ./
# Sources last (.dockerignore leaves out tests and node_modules): an edit
# rebuilds only these layers.
COPY packages/ ./packages/
COPY services/${SERVICE}/ ./services/${SERVICE}/
WORKDIR /app/services/${SERVICE}
USER bun
CMD ["bun", "src/index.ts"]
