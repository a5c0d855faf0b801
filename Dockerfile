# syntax=docker/dockerfile:1
# kubetriage's image. scripts/image/build.sh builds the equivalent image without a container runtime
# (mmdebstrap + buildah); keep the two in step (base suite, runtime libraries, user, paths, labels).
#   docker build -t kubetriage:0.1.0 .
#   docker run --rm kubetriage:0.1.0 demo
#
# Build stage: Node 24 on Debian bookworm with the -dev libraries; librdkafka is compiled ONCE here
# (CKJS_LINKING=dynamic: against Debian's OpenSSL, zlib, zstd, lz4 and SASL, not a bundled copy).
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential python3 ca-certificates \
      zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV CKJS_LINKING=dynamic
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 # The compiled addon and librdkafka's shared libraries stay; its sources and objects go.
 && cd node_modules/@confluentinc/kafka-javascript \
 && rm -rf deps build/Release/obj.target build/Release/.deps build/deps/*.a src \
 && find /app/node_modules -name .bin -prune -exec rm -rf {} +
# bin/ and src/ as JavaScript (scripts/build-js.ts, Node's own type stripping once here): running the
# TypeScript sources would load Node's type stripper in every pod, about 25 MB of RSS (bench/memory.ts).
COPY scripts/build-js.ts ./scripts/build-js.ts
COPY bin ./bin
COPY src ./src
RUN node scripts/build-js.ts --out /app/dist \
 && rm -rf bin src scripts \
 && mv dist/bin dist/src . \
 && rm -rf dist
COPY proto ./proto
COPY config ./config

# Runtime stage: the same Debian suite, only the shared libraries librdkafka loads. No build tools;
# the app's JavaScript, emitted above, and its production dependencies are all it needs.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libssl3 zlib1g libzstd1 liblz4-1 libsasl2-2 libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && groupadd --system --gid 10001 kubetriage \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin kubetriage \
 && install -d -o 10001 -g 10001 /var/lib/kubetriage \
 && install -d /etc/kubetriage
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /app /app

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED
LABEL org.opencontainers.image.title="kubetriage" \
      org.opencontainers.image.description="Explainable incidents and human-approved scale actions from OpenTelemetry telemetry" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/kubetriage/kubetriage" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# Non-root; the root filesystem can be mounted read-only: the only writes are the audit ledger
# (/var/lib/kubetriage, a volume) and /tmp (an emptyDir in the Helm chart).
USER 10001:10001
WORKDIR /app
ENV NODE_ENV=production PATH=/usr/local/bin:/usr/bin:/bin
VOLUME ["/var/lib/kubetriage"]
EXPOSE 9464
# Exec form: no shell at run time.
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/kubetriage.js"]
CMD ["run"]
