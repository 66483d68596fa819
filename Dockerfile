# syntax=docker/dockerfile:1
# kmcp container image: the single executable (bun build --compile) on a distroless base.
#   docker build -t REGISTRY/kmcp:VERSION .
# The runtime image has no shell, no package manager and no curl: the binary probes itself.

# ---- build: install the locked dependencies and compile dist/kmcp ----
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are needed: they fetch bun's and node's platform binaries from the npm registry.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build-binary.ts scripts/
COPY src/ src/
# The commit `kmcp --version` prints (.git is not in the build context):
#   docker build --build-arg KMCP_BUILD_COMMIT="$(git rev-parse HEAD)" .
ARG KMCP_BUILD_COMMIT=unknown
RUN node_modules/.bin/bun scripts/build-binary.ts --outfile /out/kmcp \
 && /out/kmcp --version

# ---- runtime ----
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="kmcp" \
      org.opencontainers.image.description="MCP server that lets AI agents manage CloudNativePG PostgreSQL clusters" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build --chmod=0555 /out/kmcp /usr/local/bin/kmcp
ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 1000:1000
EXPOSE 4204
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["kmcp", "probe", "--url", "http://127.0.0.1:4204/healthz"]
CMD ["kmcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "4204"]
