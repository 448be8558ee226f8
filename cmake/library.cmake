# libscli.so: the layers' objects in one shared library that exports only the
# public API (SCLI_API in include/scli/export.h; docs/DECISIONS.md, "The shared
# library"). Every layer is compiled with hidden visibility, so what is not
# marked stays inside the library; the static layers (tests, fuzzers, scli-gen)
# are unaffected by it.
include(GNUInstallDirs)

set(SCLI_LAYERS scli_base scli_domain scli_io scli_service scli_adapters)
set_target_properties(${SCLI_LAYERS} PROPERTIES C_VISIBILITY_PRESET hidden)
foreach(layer ${SCLI_LAYERS})
  target_compile_definitions(${layer} PRIVATE SCLI_BUILDING_LIBRARY)
endforeach()

add_library(scli_shared SHARED
  $<TARGET_OBJECTS:scli_base> $<TARGET_OBJECTS:scli_domain> $<TARGET_OBJECTS:scli_io>
  $<TARGET_OBJECTS:scli_service> $<TARGET_OBJECTS:scli_adapters>)
add_library(scli::scli ALIAS scli_shared)
# The soname follows the project's major version: libscli.so.0 -> libscli.so.0.1.0.
set_target_properties(scli_shared PROPERTIES
  OUTPUT_NAME scli
  EXPORT_NAME scli
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  C_VISIBILITY_PRESET hidden)
target_include_directories(scli_shared PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(scli_shared PRIVATE m Threads::Threads PkgConfig::XXHASH ZLIB::ZLIB PkgConfig::SQLITE3
  PkgConfig::LIBPQ PkgConfig::CJSON PkgConfig::SODIUM ${CSV_LIBRARY})
# Static archives the drivers may pull in keep their symbols to themselves.
target_link_options(scli_shared PRIVATE -Wl,--exclude-libs,ALL)
if(NOT SCLI_SANITIZE AND NOT SCLI_FUZZ)
  # Everything the library calls is in it or in the libraries it names.
  target_link_options(scli_shared PRIVATE -Wl,--no-undefined)
endif()

# What scli links: the shared library, so the binary is the library's first
# client and every e2e test runs through the ABI. Sanitizer and fuzz builds
# (never installed; their runtime belongs in the executable) link the layers.
if(SCLI_SANITIZE OR SCLI_FUZZ)
  set(SCLI_CLI_LIBRARY scli_core)
else()
  set(SCLI_CLI_LIBRARY scli_shared)
endif()

# examples/: built with the binary's rule (the public API only) so they keep compiling.
add_executable(count_hourly examples/count_hourly.c)
target_compile_definitions(count_hourly PRIVATE SCLI_PUBLIC_API_ONLY)
target_link_libraries(count_hourly PRIVATE ${SCLI_CLI_LIBRARY})
