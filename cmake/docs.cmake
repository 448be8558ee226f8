# Man pages and shell completions (issue 16; included from CMakeLists.txt).
#
# The man pages are made at build time by help2man from the built scli's own
# --help output (docs/man/help2man.sed joins the wrapped synopsis and drops the
# "Full manual" pointer), plus one include file per page, docs/man/PAGE.h2m,
# for what --help leaves out: NAME, more DESCRIPTION, EXIT STATUS, ENVIRONMENT,
# EXAMPLES, SEE ALSO. --help is the one source of the synopsis and the options,
# so a page cannot drift from it (docs/DECISIONS.md, "Man pages").
include(GNUInstallDirs)

set(SCLI_MAN_PAGES scli scli-init-db scli-load scli-loads scli-count scli-config scli-serve)

find_program(HELP2MAN help2man)
find_program(GZIP_PROGRAM gzip)
if(HELP2MAN AND GZIP_PROGRAM)
  set(SCLI_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  set(SCLI_MAN_OUTPUTS)
  foreach(page ${SCLI_MAN_PAGES})
    string(REGEX REPLACE "^scli-?" "" command "${page}")
    if(command)
      set(help_option "${command} --help")
    else()
      set(help_option "--help")
    endif()
    set(include_file ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/${page}.h2m)
    set(filter ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/help2man.sed)
    set(output ${SCLI_MAN_DIR}/${page}.1)
    # help2man runs `scli <help_option>` through the shell, so the filter is a pipe.
    add_custom_command(
      OUTPUT ${output}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${SCLI_MAN_DIR}
      COMMAND ${HELP2MAN} --no-info --section=1 --manual=scli
              "--source=scli ${PROJECT_VERSION}" --version-string=${PROJECT_VERSION}
              "--help-option=${help_option} | sed -f '${filter}'"
              --include=${include_file} --output=${output} $<TARGET_FILE:scli>
      DEPENDS scli ${include_file} ${filter}
      COMMENT "Generating man page ${page}(1)"
      VERBATIM)
    # Installed compressed, as Debian installs man pages (gzip -9n: no name or
    # time stamp inside, so the same page gives the same bytes); man reads both.
    add_custom_command(
      OUTPUT ${output}.gz
      COMMAND ${GZIP_PROGRAM} -9nfk ${output}
      DEPENDS ${output}
      VERBATIM)
    list(APPEND SCLI_MAN_OUTPUTS ${output}.gz)
  endforeach()
  add_custom_target(man ALL DEPENDS ${SCLI_MAN_OUTPUTS})
  install(FILES ${SCLI_MAN_OUTPUTS} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: no man pages (`make deps` installs it)")
endif()

# Where each shell looks on Debian: bash-completion loads completions/NAME on
# first use; zsh's Debian build has vendor-completions in its $fpath.
install(FILES completions/scli.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME scli)
install(FILES completions/_scli DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
