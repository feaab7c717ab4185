# One image per service, built from the workspace root:
#   docker build --build-arg SERVICE=gateway -t pipeline-gateway .
FROM oven/bun:1.4 AS base
WORKDIR /app
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY packages ./packages
COPY services ./services
RUN bun install --frozen-lockfile --production

FROM base
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app/services/${SERVICE}
RUN mkdir -p /media && chown bun:bun /media
USER bun
CMD ["bun", "src/index.ts"]
