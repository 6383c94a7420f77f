# Install rules for what is not a binary, and the Debian packages (CPack, one package per
# component): docs/operations.md, "Installing the packages".
#
#   firewatch-agent      /usr/bin/firewatch-agent, its unit, /etc/firewatch/agent.yml.
#                        Depends on libc6 only: the agent is linked statically with
#                        everything else (agent/CMakeLists.txt). libcurl4 is Recommended:
#                        the HTTP fallback dlopen()s it on first use.
#   firewatch-collector  /usr/bin/firewatch-collector, /usr/bin/firewatchctl, their private
#                        libfirewatch_common.so.0 (/usr/lib/firewatch, found by RUNPATH), the
#                        unit, /etc/firewatch/collector.yml; Depends computed by
#                        dpkg-shlibdeps.
#
# Build them: `cmake --build build --target package` (or `cpack` in build/); the .deb
# files land in build/packages/. Paths are Debian's whatever CMAKE_INSTALL_PREFIX is:
# binaries under CPACK_PACKAGING_INSTALL_PREFIX (/usr), configs in /etc/firewatch.

set(FIREWATCH_INSTALL_CONFDIR /etc/firewatch CACHE PATH
    "Where the packaged configs go (an absolute path: the units read them there)")
set(FIREWATCH_INSTALL_UNITDIR lib/systemd/system)

# Units, configs, docs and examples.
install(FILES deploy/systemd/firewatch-agent.service
        DESTINATION ${FIREWATCH_INSTALL_UNITDIR} COMPONENT agent)
install(FILES deploy/systemd/firewatch-collector.service
        DESTINATION ${FIREWATCH_INSTALL_UNITDIR} COMPONENT collector)
install(FILES deploy/packaging/agent.yml DESTINATION ${FIREWATCH_INSTALL_CONFDIR} COMPONENT agent)
install(FILES deploy/packaging/collector.yml
        DESTINATION ${FIREWATCH_INSTALL_CONFDIR} COMPONENT collector)
install(FILES README.md docs/agent.md docs/configuration.md docs/operations.md docs/protocol.md
        DESTINATION share/doc/firewatch-agent COMPONENT agent)
install(FILES deploy/examples/agent.yml
        DESTINATION share/doc/firewatch-agent/examples COMPONENT agent)
install(FILES README.md DESTINATION share/doc/firewatch-collector COMPONENT collector)
install(DIRECTORY docs/ DESTINATION share/doc/firewatch-collector COMPONENT collector
        FILES_MATCHING PATTERN "*.md")
# The examples' regular files only: a run by hand keeps its state in subfolders there.
install(DIRECTORY deploy/examples/ DESTINATION share/doc/firewatch-collector/examples
        COMPONENT collector FILES_MATCHING PATTERN "*.yml" PATTERN "*.md" PATTERN "*.key"
        PATTERN "*.token" PATTERN "firewatch-data" EXCLUDE PATTERN "*-data" EXCLUDE)
install(FILES deploy/sysctl/60-firewatch-collector.conf
        DESTINATION share/doc/firewatch-collector/examples COMPONENT collector)

# --- CPack: Debian packages ----------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME firewatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "firewatch maintainers <firewatch@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "out-of-band monitoring and paging")
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL agent collector)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/common)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME firewatch-agent)
set(CPACK_DEBIAN_AGENT_DESCRIPTION
    "firewatch agent: signed heartbeats to firewatch collectors\n"
    "A small daemon that pushes HMAC-signed heartbeats over UDP (HTTP fallback) to every\n"
    "configured firewatch collector, so they page when this host goes silent.")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "libcurl4")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME firewatch-collector)
set(CPACK_DEBIAN_COLLECTOR_DESCRIPTION
    "firewatch collector: out-of-band heartbeat monitor and pager\n"
    "Receives heartbeats from firewatch agents, cron pings and Alertmanager's Watchdog,\n"
    "cross-checks with collectors in other sites and pages on-call humans when a source\n"
    "goes silent. Includes firewatchctl.")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_SUGGESTS "firewatch-agent")
# Besides the libraries dpkg-shlibdeps finds: on-call schedules need the time zone database.
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "tzdata")

# Maintainer scripts (deploy/debian/*.in) and conffiles, one set per package.
foreach(component agent collector)
  set(FW_PACKAGE firewatch-${component})
  set(dir ${CMAKE_BINARY_DIR}/debian/${component})
  foreach(script postinst prerm postrm)
    configure_file(deploy/debian/${script}.in ${dir}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                    GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(WRITE ${dir}/conffiles "${FIREWATCH_INSTALL_CONFDIR}/${component}.yml\n")
  string(TOUPPER ${component} upper)
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA
      "${dir}/conffiles;${dir}/postinst;${dir}/prerm;${dir}/postrm")
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endforeach()

include(CPack)
