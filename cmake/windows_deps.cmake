# Dependencies of the Windows cross build. Debian has no mingw builds of spdlog, fmt or
# the header-only libraries, but their headers work as they are: spdlog and fmt in
# header-only mode. Only those directories of /usr/include are exposed (through links in
# the build tree), never /usr/include itself, whose glibc headers would clash.
set(ipcd_deps_include ${CMAKE_BINARY_DIR}/windows-deps/include)
file(MAKE_DIRECTORY ${ipcd_deps_include})
foreach(entry asio asio.hpp spdlog fmt nlohmann CLI doctest)
  if(NOT EXISTS ${ipcd_deps_include}/${entry})
    file(CREATE_LINK /usr/include/${entry} ${ipcd_deps_include}/${entry} SYMBOLIC)
  endif()
endforeach()

add_library(ipcd_windows_deps INTERFACE)
target_include_directories(ipcd_windows_deps SYSTEM INTERFACE ${ipcd_deps_include})
foreach(name spdlog::spdlog nlohmann_json::nlohmann_json CLI11::CLI11 doctest::doctest)
  string(MAKE_C_IDENTIFIER ${name} target)
  add_library(${target} INTERFACE)
  target_link_libraries(${target} INTERFACE ipcd_windows_deps)
  add_library(${name} ALIAS ${target})
endforeach()
target_compile_definitions(spdlog__spdlog INTERFACE SPDLOG_HEADER_ONLY SPDLOG_FMT_EXTERNAL
  FMT_HEADER_ONLY)
# doctest's CTest integration (doctest_discover_tests runs the tests under Wine).
set(IPCD_DOCTEST_MODULE /usr/lib/cmake/doctest/doctest.cmake)
