# cmake/FleetLensCPackChecks.cmake — read by cpack before it makes each package (CPACK_PROJECT_CONFIG_FILE):
# refuses a DEB that would not work, rather than ship one.
if(CPACK_GENERATOR STREQUAL "DEB")
  # The hub looks for its migrations and console under the configured prefix (FL_DATADIR).
  if(NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "fleetlens: Debian packages install into /usr, and the hub finds its migrations "
      "at the prefix it was configured with: configure with -DCMAKE_INSTALL_PREFIX=/usr "
      "(this build dir has ${CPACK_PACKAGING_INSTALL_PREFIX})")
  endif()
  # fleetlens-hub ships the console; it is built by npm, not CMake.
  if(NOT EXISTS "${CPACK_FLEETLENS_SOURCE_DIR}/web/dist/index.html")
    message(FATAL_ERROR "fleetlens: ${CPACK_FLEETLENS_SOURCE_DIR}/web/dist/index.html is missing: build the console "
      "first (cd web && npm ci && npm run build), the fleetlens-hub package ships it")
  endif()
endif()
