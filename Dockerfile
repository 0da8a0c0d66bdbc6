# netvigil collector image. Builds unchanged with `docker build .`, or with buildah/podman where no
# Docker engine runs (see README, "Container"; test/container.test.ts builds and runs it).
# Plain Dockerfile syntax only (no BuildKit frontend directive), so every builder reads it the same.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` compiles, and the sources are not copied yet
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY collectors ./collectors
COPY bench ./bench
COPY test/helpers ./test/helpers
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    NETVIGIL_CONFIG=/etc/netvigil/collector.yaml \
    NETVIGIL_DATA_DIR=/var/lib/netvigil
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/collectors ./dist/collectors
COPY config/ /etc/netvigil/
# An unprivileged user of our own (numeric, so runAsNonRoot policies can check it); the process
# writes only to the data volume, so it works with a read-only root filesystem.
RUN groupadd --system --gid 10001 netvigil \
 && useradd --system --uid 10001 --gid netvigil --no-create-home --shell /usr/sbin/nologin netvigil \
 && mkdir -p /var/lib/netvigil && chown netvigil:netvigil /var/lib/netvigil
USER 10001
VOLUME ["/var/lib/netvigil"]
# NetFlow v5/v9, IPFIX, sFlow, SNMP traps (unprivileged port; see README for 162); HTTP endpoints
# (the default config serves them on loopback: NETVIGIL_HTTP_LISTEN=0.0.0.0:9108 to scrape /metrics)
EXPOSE 2055/udp 4739/udp 6343/udp 1162/udp 9108/tcp
# heartbeat file + sinks ready + /healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/dist/src/cli.js", "health"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["run"]
