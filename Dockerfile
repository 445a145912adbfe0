# infergate: multi-stage build on Node 24 slim; the runtime image holds dist/, production deps and the config.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production INFERGATE_LISTEN=0.0.0.0:8080
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config/infergate.yaml /etc/infergate/infergate.yaml
COPY config/infergate.schema.json /etc/infergate/infergate.schema.json
RUN ln -s /app/dist/cli.js /usr/local/bin/infergate && chmod +x /app/dist/cli.js \
 && mkdir -p /var/lib/infergate && chown node /var/lib/infergate
# The data port and the admin port. The example config reads INFERGATE_ADMIN_LISTEN (default loopback): run with
# -e INFERGATE_ADMIN_LISTEN=0.0.0.0:9901 -e INFERGATE_ADMIN_TOKEN=<secret> so probes and Prometheus reach it
# (/healthz, /readyz and /metrics need no token; /admin/* does). Without a token `check` refuses a non-loopback admin.
EXPOSE 8080 9901
USER node
ENTRYPOINT ["infergate", "--config", "/etc/infergate/infergate.yaml"]
