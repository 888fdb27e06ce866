# Install rules and the CMake package (find_package(tfc)) plus tfcrt.pc.
# Included from the top-level CMakeLists.txt after every target exists.
#
#   cmake --install build --prefix /opt/tfc
#
# installs
#   bin/       tfc, tfc-opt (not in a TFC_RUNTIME_ONLY build), tfc-run
#   lib/       libtfcrt.so, libtfcrt.a, libtfcrt_mpi.so (where MPI was found)
#   include/   tfc/Runtime/*.h, tfc/Support/{WeightsFormat,PackedWeights}.h
#   lib/cmake/tfc/  tfcConfig.cmake, tfcConfigVersion.cmake, tfcTargets.cmake,
#                   TfcAddModel.cmake (tfc_add_model, docs/RUNTIME.md)
#   lib/pkgconfig/tfcrt.pc
# Every installed file is relocatable: the package and tfcrt.pc find the
# prefix from their own location, so `--prefix` at install time is enough.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TFC_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/tfc)

# The runtime's include directories, valid in the build tree and installed.
# The header tfc writes beside a model includes "tfc_runtime.h" by its bare
# name, hence include/tfc/Runtime as well.
foreach(lib tfcrt tfcrt_static)
  set_property(TARGET ${lib} PROPERTY INTERFACE_INCLUDE_DIRECTORIES
    "$<BUILD_INTERFACE:${TFC_SOURCE_DIR}/include>"
    "$<BUILD_INTERFACE:${TFC_SOURCE_DIR}/include/tfc/Runtime>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/tfc/Runtime>")
endforeach()
# A sanitized build's runtime needs the sanitizer runtimes in whatever links
# it: say so in its usage requirements (and in tfcrt.pc below).
set(TFC_PC_SANITIZE "")
if(TFC_SANITIZE)
  foreach(lib tfcrt tfcrt_static)
    target_link_options(${lib} INTERFACE -fsanitize=${TFC_SANITIZE})
  endforeach()
  set(TFC_PC_SANITIZE " -fsanitize=${TFC_SANITIZE}")
endif()
set_target_properties(tfcrt PROPERTIES EXPORT_NAME tfcrt)
set_target_properties(tfcrt_static PROPERTIES EXPORT_NAME tfcrt_static)

set(tfc_install_targets tfcrt tfcrt_static tfc-run)
if(TARGET tfc)
  list(APPEND tfc_install_targets tfc tfc-opt)
  # libMLIR.so / libLLVM.so live outside the default library path
  # (/usr/lib/llvm-22/lib): keep that directory in the installed RUNPATH.
  set_target_properties(tfc tfc-opt PROPERTIES
    INSTALL_RPATH_USE_LINK_PATH TRUE)
  set(TFC_HAS_COMPILER ON)
else()
  set(TFC_HAS_COMPILER OFF)
endif()
install(TARGETS ${tfc_install_targets}
  EXPORT tfcTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Found by libtfcrt.so next to itself ($ORIGIN, Dist.cpp) at tfc_dist_init.
if(TARGET tfcrt_mpi)
  install(TARGETS tfcrt_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

install(FILES
  ${TFC_SOURCE_DIR}/include/tfc/Runtime/tfc_runtime.h
  ${TFC_SOURCE_DIR}/include/tfc/Runtime/tfc_kernels.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tfc/Runtime)
# The weights-file format and the packed-weight blob header, which
# tfc_kernels.h refers to and an application reading .tfcw files needs.
install(FILES
  ${TFC_SOURCE_DIR}/include/tfc/Support/WeightsFormat.h
  ${TFC_SOURCE_DIR}/include/tfc/Support/PackedWeights.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tfc/Support)

install(EXPORT tfcTargets
  NAMESPACE tfc::
  DESTINATION ${TFC_INSTALL_CMAKEDIR})
configure_package_config_file(
  ${TFC_SOURCE_DIR}/cmake/tfcConfig.cmake.in
  ${TFC_BINARY_DIR}/cmake/tfcConfig.cmake
  INSTALL_DESTINATION ${TFC_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  ${TFC_BINARY_DIR}/cmake/tfcConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${TFC_BINARY_DIR}/cmake/tfcConfig.cmake
  ${TFC_BINARY_DIR}/cmake/tfcConfigVersion.cmake
  ${TFC_SOURCE_DIR}/cmake/TfcAddModel.cmake
  DESTINATION ${TFC_INSTALL_CMAKEDIR})

file(RELATIVE_PATH TFC_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${TFC_SOURCE_DIR}/cmake/tfcrt.pc.in
  ${TFC_BINARY_DIR}/cmake/tfcrt.pc @ONLY)
install(FILES ${TFC_BINARY_DIR}/cmake/tfcrt.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The same names inside this build, so that tfc_add_model (and code written
# against the package) also works in the tfc tree itself.
add_library(tfc::tfcrt ALIAS tfcrt)
add_library(tfc::tfcrt_static ALIAS tfcrt_static)
if(TARGET tfc)
  add_executable(tfc::tfc ALIAS tfc)
endif()
include(${TFC_SOURCE_DIR}/cmake/TfcAddModel.cmake)
