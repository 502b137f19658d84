# syntax=docker/dockerfile:1
# Build: compile TypeScript with the full toolchain.
FROM node:24-slim AS build
WORKDIR /app
# The image is the gateway alone: without workspaces, npm ci installs the root's dependencies and
# leaves out the client package (packages/client), so its files need not be here.
COPY package.json package-lock.json ./
RUN npm ci --workspaces=false --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY gen ./gen
RUN npm run build

# Runtime dependencies only; the node devDependency and the toolchain stay behind.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --workspaces=false --no-audit --no-fund && npm cache clean --force

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
# Garbage collection for one core per gateway process, as it is deployed (README: "Young generation
# and GC threads"): a 16 MiB young generation keeps each scavenge near 10 ms, where V8's own choice
# here (64 MiB) pauses 40 ms; and no GC helper threads, which on one core take turns with the event
# loop and stalled calls up to 120 ms. npm start, the benches and the tests run the same flags.
CMD ["node", "--max-semi-space-size=16", "--single-threaded-gc", "dist/src/main.js"]
