# scli container image: build and test on Debian 12, run on Debian 12 slim.
#   docker build -t scli .
#   docker run --rm -v "$PWD:/data" -e SCLI_DATABASE=sqlite:/data/scli.db scli init-db
# `make image-check` proves the runtime stage without a Docker engine: it reads
# RUNTIME_PACKAGES below, installs exactly those into a debootstrapped bookworm
# root file system and runs scli there.

FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libsqlite3-dev libpq-dev libcsv-dev libcjson-dev \
      zlib1g-dev libxxhash-dev libsodium-dev libmicrohttpd-dev libcmocka-dev tzdata \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same make target as CI, then the unit tests (the rest need PostgreSQL and shared data).
RUN make build BUILD=/build CMAKE_FLAGS=-DCMAKE_BUILD_TYPE=Release \
 && cd /build && ctest -R '^unit/' --output-on-failure

FROM debian:12-slim AS runtime
# The shared libraries scli links against and the time zone database `--tz` reads
# (/usr/share/zoneinfo); nothing else (no compilers, no shell tools added).
ARG RUNTIME_PACKAGES="libsqlite3-0 libpq5 libcsv3 libcjson1 zlib1g libxxhash0 libsodium23 libmicrohttpd12 ca-certificates tzdata"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 scli \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/scli --create-home scli
COPY --from=build /build/scli /usr/local/bin/scli
USER 10001:10001
WORKDIR /var/lib/scli
ENV SCLI_DATABASE=sqlite:/var/lib/scli/scli.db
ENTRYPOINT ["scli"]
CMD ["--help"]
