# The coffer image: the `coffer` binary (server and CLI) on a slim Debian, running as a non-root
# user. Build from the repository root:  docker build -t coffer:0.1.0 .
# The Helm chart (helm/coffer) runs it with a read-only root filesystem, as uid/gid 10001.

# --- build -------------------------------------------------------------------------------------
FROM rust:1.88-bookworm AS build
# rocksdb's bindgen needs libclang; tonic's code generation needs protoc.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p coffer-node --bin coffer \
 && install -m 0755 target/release/coffer /usr/local/bin/coffer

# --- run ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# CA roots for the AWS KMS endpoint; nothing else is added but the binary.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 coffer \
 && useradd --uid 10001 --gid 10001 --home-dir /home/coffer --create-home --shell /usr/sbin/nologin coffer \
 && mkdir -p /coffer/data /coffer/config \
 && chown -R 10001:10001 /coffer
COPY --from=build /usr/local/bin/coffer /usr/local/bin/coffer
USER 10001:10001
ENV HOME=/home/coffer
WORKDIR /home/coffer
EXPOSE 8200 8201
VOLUME ["/coffer/data"]
ENTRYPOINT ["coffer"]
CMD ["server", "-config=/coffer/config/server.hcl"]
