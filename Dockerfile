# scli container image: build and test on Debian 12, run on Debian 12 slim.
#   docker build -t scli .
#   docker run --rm -v "$PWD:/data" -e SCLI_DATABASE=sqlite:/data/scli.db scli init-db
# `make image-check` proves the runtime stage without a Docker engine: it installs
# the same package (`make deb`) with RUNTIME_PACKAGES below into a debootstrapped
# bookworm root file system, as this stage does, and runs scli there.

FROM debian:12-slim AS build
# What `make deps-run` installs: the compiler, CMake, the -dev libraries, help2man
# (the man pages) and dpkg-dev + file (CPack's dpkg-shlibdeps computes Depends).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libsqlite3-dev libpq-dev libcsv-dev libcjson-dev \
      zlib1g-dev libxxhash-dev libsodium-dev libmicrohttpd-dev libcmocka-dev tzdata \
      help2man dpkg-dev file \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The Debian package, built as `make deb` builds it for CI's image-check (the
# same build type), then the unit tests (the rest need PostgreSQL and shared data).
RUN make deb BUILD=/build \
 && cd /build && ctest -R '^unit/' --output-on-failure

FROM debian:12-slim AS runtime
# The package from the build stage: scli in /usr/bin, libscli.so.0, the man pages;
# its Depends (computed by dpkg-shlibdeps, plus tzdata for --tz) bring the shared
# libraries. RUNTIME_PACKAGES adds what no Depends names; nothing else (no
# compilers, no shell tools added).
ARG RUNTIME_PACKAGES="ca-certificates"
COPY --from=build /build/scli_*.deb /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/scli_*.deb ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* /tmp/scli_*.deb \
 && groupadd --system --gid 10001 scli \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/scli --create-home scli
USER 10001:10001
WORKDIR /var/lib/scli
ENV SCLI_DATABASE=sqlite:/var/lib/scli/scli.db
ENTRYPOINT ["scli"]
CMD ["--help"]
