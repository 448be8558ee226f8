# The Debian package (issue 16): `cpack -G DEB` in the build directory, or
# `make deb`, gives scli_<version>_<arch>.deb with whatever the install() rules
# install (cmake/install.cmake: the binary, libscli.so, headers, pkg-config and
# CMake files; cmake/docs.cmake: man pages and completions).
#
# Runtime Depends are computed by dpkg-shlibdeps from the ELF files in the
# package (libpq5, libsqlite3-0, libsodium23, ...; needs dpkg-dev and file at
# build time). tzdata is added by hand: --tz reads /usr/share/zoneinfo at run
# time, which no ELF dependency shows.

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "scli")
set(CPACK_PACKAGE_VENDOR "scli")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "scli maintainers <scli@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "exact usage counts by minute, hour, day or month, in any time zone")
# The long description, one line per Debian control line (CPack indents them).
set(CPACK_PACKAGE_DESCRIPTION [=[scli loads usage events (CSV or JSON) into SQLite or PostgreSQL, counting
every event exactly once, and answers how many events each customer sent in
each window between two timestamps, from the command line or over HTTP.
The package holds the scli command, the libscli library with its headers,
pkg-config and CMake files, the man pages and the shell completions.]=])
set(CPACK_STRIP_FILES ON) # the debug info stays in the build tree
# Debian's paths: /usr/bin/scli, /usr/lib/<multiarch>/libscli.so.*.
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # scli_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata")
# libscli.so is in the package itself: dpkg-shlibdeps finds it in the build tree
# and the package says which shared libraries it provides (a shlibs file).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)

include(CPack)
