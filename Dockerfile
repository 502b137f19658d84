# syntax=docker/dockerfile:1
# Build: compile TypeScript with the full toolchain.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY gen ./gen
RUN npm run build

# Runtime dependencies only; the node devDependency and the toolchain stay behind.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY proto ./proto
USER node
EXPOSE 8080
# Ready once the upstream pools are warm; 503 while draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# A 64 MiB young generation: each RPC allocates briefly, and fewer scavenges cut the gateway's CPU per
# request by about a tenth (bench: 1,290 -> 1,450 req/s at saturation) for up to 128 MiB more RSS.
CMD ["node", "--max-semi-space-size=64", "dist/src/main.js"]
