# `cmake --install build --prefix P` puts in P: the headers of the runtime's C and C++ APIs,
# libgdn.so (C API, SONAME libgdn.so.<ABI>), libgdn_runtime.a (C++ runtime), the tools, and a
# CMake package: find_package(gdn) gives gdn::gdn and gdn::runtime (docs/install.md).
include(CMakePackageConfigHelpers)

install(TARGETS gdn gdn_runtime EXPORT gdnTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES
  ${GDN_SOURCE_DIR}/runtime/include/gdn/gdn.h
  ${GDN_SOURCE_DIR}/runtime/include/gdn/Runtime.h
  ${GDN_SOURCE_DIR}/runtime/include/gdn/Numeric.h
  ${GDN_SOURCE_DIR}/runtime/include/gdn/Variant.h
  ${GDN_BINARY_DIR}/runtime/include/gdn/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gdn)

set(GDN_INSTALLED_TOOLS gdn-bench)
if(GDN_ENABLE_MLIR)
  list(APPEND GDN_INSTALLED_TOOLS gdn-opt gdn-compile gdn-run gdn-tune)
endif()
install(TARGETS ${GDN_INSTALLED_TOOLS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(GDN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gdn)
install(EXPORT gdnTargets NAMESPACE gdn:: DESTINATION ${GDN_CMAKE_DIR})
configure_package_config_file(${GDN_SOURCE_DIR}/cmake/gdnConfig.cmake.in
  ${GDN_BINARY_DIR}/gdnConfig.cmake INSTALL_DESTINATION ${GDN_CMAKE_DIR})
write_basic_package_version_file(${GDN_BINARY_DIR}/gdnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${GDN_BINARY_DIR}/gdnConfig.cmake ${GDN_BINARY_DIR}/gdnConfigVersion.cmake
  DESTINATION ${GDN_CMAKE_DIR})
