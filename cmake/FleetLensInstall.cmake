# cmake/FleetLensInstall.cmake — where `cmake --install` puts FleetLens, and the two Debian packages
# `cpack -G DEB` makes of it (deploy/README.md, "Install from source or packages", lists every path).
# Included at the end of CMakeLists.txt, after the targets exist.
#
#   component hub:   bin/fleetlens-hub
#                    share/fleetlens/sql/hub/*.sql     the migrations (hub.migrations_dir's default)
#                    share/fleetlens/web/*             the built console, when web/dist exists (hub.web_dir's default)
#                    lib/systemd/system/fleetlens-hub.service
#                    share/doc/fleetlens-hub/examples/clusters.yaml
#   component spoke: bin/fleetlens-spoke
#                    lib/systemd/system/fleetlens-spoke@.service, fleetlens-spoke-node@.service
#                    share/doc/fleetlens-spoke/examples/spoke.yaml, spoke-node.yaml
#
# The hub finds the migrations and the console at FL_DATADIR, the configured prefix's
# share/fleetlens, compiled in: install to the prefix you configured (-DCMAKE_INSTALL_PREFIX=...;
# `--prefix` at install time must name the same folder, DESTDIR only stages). The test and the bench
# tools are never installed. sql/safe/ is SaFE's schema for tests only: not installed.
include(GNUInstallDirs)

set(FL_DATADIR "${CMAKE_INSTALL_FULL_DATADIR}/fleetlens")
target_compile_definitions(hub_lib PUBLIC FL_DATADIR="${FL_DATADIR}")

install(TARGETS fleetlens-hub RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hub)
install(TARGETS fleetlens-spoke RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT spoke)

install(DIRECTORY sql/hub/ DESTINATION ${CMAKE_INSTALL_DATADIR}/fleetlens/sql/hub COMPONENT hub
  FILES_MATCHING PATTERN "*.sql")
# The console is built by npm (web/: npm ci && npm run build), not by CMake. `cmake --install` copies
# web/dist when it exists at install time and skips it otherwise (a hub without a console still
# serves the API); `cpack` refuses to make packages without it (cmake/FleetLensCPackChecks.cmake).
install(DIRECTORY web/dist/ DESTINATION ${CMAKE_INSTALL_DATADIR}/fleetlens/web COMPONENT hub OPTIONAL)

# The units in deploy/systemd/ name /usr/local/bin (the default prefix; usable as they are for a hand
# install); the installed copies name this prefix's bindir.
set(FL_UNITDIR lib/systemd/system)
foreach(unit fleetlens-hub.service fleetlens-spoke@.service fleetlens-spoke-node@.service)
  file(READ "${CMAKE_SOURCE_DIR}/deploy/systemd/${unit}" text)
  string(REPLACE "/usr/local/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" text "${text}")
  set(old "")
  if(EXISTS "${CMAKE_BINARY_DIR}/systemd/${unit}")
    file(READ "${CMAKE_BINARY_DIR}/systemd/${unit}" old)
  endif()
  if(NOT old STREQUAL text)
    file(WRITE "${CMAKE_BINARY_DIR}/systemd/${unit}" "${text}")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/deploy/systemd/${unit}")
endforeach()
install(FILES "${CMAKE_BINARY_DIR}/systemd/fleetlens-hub.service" DESTINATION ${FL_UNITDIR} COMPONENT hub)
install(FILES "${CMAKE_BINARY_DIR}/systemd/fleetlens-spoke@.service"
  "${CMAKE_BINARY_DIR}/systemd/fleetlens-spoke-node@.service" DESTINATION ${FL_UNITDIR} COMPONENT spoke)

# Example configs for a systemd host, as documentation (Debian's /usr/share/doc/<package>/examples),
# not conffiles: a clusters.yaml in /etc would start a hub with keys nobody made yet.
install(FILES deploy/systemd/clusters.yaml DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/fleetlens-hub/examples
  COMPONENT hub)
install(FILES deploy/systemd/spoke.yaml deploy/systemd/spoke-node.yaml
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/fleetlens-spoke/examples COMPONENT spoke)

# --- cpack -G DEB: fleetlens-hub and fleetlens-spoke ---------------------------------------------------
set(CPACK_PACKAGE_NAME fleetlens)
set(CPACK_PACKAGE_VENDOR "FleetLens")
set(CPACK_PACKAGE_CONTACT "FleetLens maintainers <fleetlens@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GPU fleet overview across Kubernetes clusters")
set(CPACK_COMPONENTS_ALL hub spoke)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# The package's paths are the configured prefix's, so the compiled-in FL_DATADIR is where the package
# puts the files; the checks file refuses a prefix other than /usr for DEB.
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
# Depends: the packages of the libraries each binary links, found by dpkg-shlibdeps (dpkg-dev), plus
# adduser for the postinst that makes the fleetlens system user both packages' units run as.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_HUB_PACKAGE_NAME fleetlens-hub)
set(CPACK_DEBIAN_SPOKE_PACKAGE_NAME fleetlens-spoke)
set(CPACK_DEBIAN_HUB_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_SPOKE_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_HUB_PACKAGE_RECOMMENDS postgresql)
# Debian's Description: CPACK_PACKAGE_DESCRIPTION_SUMMARY, then each component's text.
set(CPACK_COMPONENT_HUB_DESCRIPTION "The hub: spoke ingest, PostgreSQL store, web API and console. \
It receives signed frames from one spoke per Kubernetes cluster, keeps cluster-keyed rows in PostgreSQL \
and serves /v1, /lens/v1 and the ops console. Ships its migrations, the built console, a systemd unit \
and an example clusters.yaml.")
set(CPACK_COMPONENT_SPOKE_DESCRIPTION "The spoke: reports one Kubernetes cluster (or one node) to the hub. \
It collects nodes, GPUs, pods and workloads and pushes signed frames to the FleetLens hub. Ships \
systemd units for the cluster role and the node role, and example configs.")
set(CPACK_DEBIAN_HUB_PACKAGE_CONTROL_EXTRA "${CMAKE_SOURCE_DIR}/cmake/debian/postinst")
set(CPACK_DEBIAN_SPOKE_PACKAGE_CONTROL_EXTRA "${CMAKE_SOURCE_DIR}/cmake/debian/postinst")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_FLEETLENS_SOURCE_DIR "${CMAKE_SOURCE_DIR}")
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_SOURCE_DIR}/cmake/FleetLensCPackChecks.cmake")
include(CPack)
