# Install rules (GNUInstallDirs), in two components: "runtime" (bin/scli and
# the versioned libscli.so.N) and "dev" (the libscli.so link, headers, scli.pc,
# the CMake package). `cmake --install build --prefix DIR` installs both.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# An installed scli finds its library through RUNPATH $ORIGIN/../LIBDIR, so a
# tree installed anywhere (a prefix, a tarball) works as it lies; when the
# libdir is one the linker searches anyway (/usr/lib/x86_64-linux-gnu for the
# .deb) no RUNPATH is written at all.
list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${CMAKE_INSTALL_FULL_LIBDIR}" scli_libdir_implicit)
if(scli_libdir_implicit EQUAL -1)
  file(RELATIVE_PATH scli_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
  set_target_properties(scli PROPERTIES INSTALL_RPATH "$ORIGIN/${scli_bin_to_lib}")
endif()

install(TARGETS scli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS scli_shared EXPORT scliTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The public headers, and the ports for adapter authors. sys/adapters.h (the
# registry's tables, the concrete constructors) is the tree's own: not installed,
# not exported.
install(DIRECTORY include/scli/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/scli COMPONENT dev
  FILES_MATCHING PATTERN "*.h" PATTERN "adapters.h" EXCLUDE)

# pkg-config: relocatable (prefix from the .pc file's own place), so a tree
# installed with --prefix at install time still answers right.
file(RELATIVE_PATH SCLI_PC_TO_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" SCLI_PC_TO_PREFIX "${SCLI_PC_TO_PREFIX}")
configure_file(cmake/scli.pc.in ${CMAKE_CURRENT_BINARY_DIR}/scli.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/scli.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# find_package(scli): the target scli::scli (libscli.so and its include dir).
set(SCLI_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/scli)
install(EXPORT scliTargets NAMESPACE scli:: DESTINATION ${SCLI_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/scliConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/scliConfig.cmake INSTALL_DESTINATION ${SCLI_CMAKE_DIR})
# Same major version is compatible: the soname changes with it.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/scliConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/scliConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/scliConfigVersion.cmake
  DESTINATION ${SCLI_CMAKE_DIR} COMPONENT dev)

if(SCLI_TESTS)
  # The exported symbols are exactly the functions (and data) declared with
  # SCLI_API in the installed headers: nothing leaks, nothing is missing.
  add_test(NAME lib/exports
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/lib/check_exports.sh
            $<TARGET_FILE:scli_shared> ${CMAKE_CURRENT_SOURCE_DIR}/include)
endif()
