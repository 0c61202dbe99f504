# cmake --install: binaries, the client library with its headers, the CMake package
# (ipcd::client), pkg-config's ipcd-client.pc, the systemd units, the sysusers snippet
# and the example config (docs/operations.md §5); and the Debian package (cpack -G DEB).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The static client library and the static libraries it is made of.
set_target_properties(ipcd_client PROPERTIES EXPORT_NAME client)
set_target_properties(ipcd_transport PROPERTIES EXPORT_NAME transport)
set_target_properties(ipcd_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(ipcd_message PROPERTIES EXPORT_NAME message)
set_target_properties(ipcd_url PROPERTIES EXPORT_NAME url)
set_target_properties(ipcd_asio PROPERTIES EXPORT_NAME asio)
foreach(target ipcd_client ipcd_transport ipcd_protocol ipcd_message ipcd_url)
  target_include_directories(${target} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
install(TARGETS ipcd_client ipcd_transport ipcd_protocol ipcd_message ipcd_url ipcd_asio EXPORT ipcdTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY client/include/ipc protocol/include/ipc message/include/ipc transport/include/ipc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ipcdTargets NAMESPACE ipcd:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcd)
configure_package_config_file(cmake/ipcdConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ipcdConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcd)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ipcdConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ipcdConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/ipcdConfigVersion.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcd)
# The .pc file names the prefix it is installed under (pkg-config has no relocation).
install(CODE "
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/cmake/ipcd-client.pc.in\"
    \"${CMAKE_CURRENT_BINARY_DIR}/ipcd-client.pc\" @ONLY)
  file(INSTALL \"${CMAKE_CURRENT_BINARY_DIR}/ipcd-client.pc\"
    DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
")

# Service files. The units name /usr/bin/ipcd and /etc/ipcd/ipcd.json (the package's
# layout); other prefixes need a drop-in (docs/operations.md §1).
install(FILES systemd/ipcd.service systemd/ipcd.socket DESTINATION lib/systemd/system)
install(FILES systemd/ipcd.sysusers DESTINATION lib/sysusers.d RENAME ipcd.conf)
install(FILES packaging/ipcd.json DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The config itself goes to /etc/ipcd under the /usr prefix (the package), else to
# PREFIX/etc/ipcd: an install into a private prefix never writes /etc.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(ipcd_config_dir \"/etc/ipcd\")
  else()
    set(ipcd_config_dir \"\${CMAKE_INSTALL_PREFIX}/etc/ipcd\")
  endif()
  if(EXISTS \"\$ENV{DESTDIR}\${ipcd_config_dir}/ipcd.json\")
    message(STATUS \"Kept: \$ENV{DESTDIR}\${ipcd_config_dir}/ipcd.json\")
  else()
    file(INSTALL \"${CMAKE_CURRENT_SOURCE_DIR}/packaging/ipcd.json\"
      DESTINATION \"\${ipcd_config_dir}\")  # file(INSTALL) adds DESTDIR itself
  endif()
")

# cpack -G DEB (from the build directory): ipcd_VERSION_ARCH.deb for Debian 12.
set(CPACK_PACKAGE_NAME ipcd)
set(CPACK_PACKAGE_VENDOR "ipcd")
set(CPACK_PACKAGE_CONTACT "ipcd maintainers <ipcd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "message broker for interprocess communication")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# No CPACK_SET_DESTDIR: the DEB generator installs with prefix /usr under a DESTDIR.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Debian 12's names of the shared libraries the binaries link (ldd build/release/broker/ipcd).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libstdc++6, libssl3, libspdlog1.10, libfmt9")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
configure_file(packaging/debian/conffiles.in ${CMAKE_CURRENT_BINARY_DIR}/debian/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_BINARY_DIR}/debian/conffiles;${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postinst")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
