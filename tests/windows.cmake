# The Windows cross build's tests, all labelled `windows` and run under Wine through
# CMAKE_CROSSCOMPILING_EMULATOR (cmake/toolchains/mingw-w64.cmake): the sans-I/O unit
# suites, the transport suite over named pipes and TCP, pub/sub, queues and request/reply
# through an in-process broker on a named pipe (over shared memory), the pipe's own rules,
# shared memory with ipcd.exe as its own process, and the service.
add_library(ipcd_test_support STATIC support/temp_dir_windows.cpp support/broker_fixture.cpp
  support/local_url_windows.cpp)
target_include_directories(ipcd_test_support PUBLIC support)
target_link_libraries(ipcd_test_support PUBLIC ipcd_broker ipcd_client PRIVATE ipcd_warnings)

add_executable(windows_tests unit/topic_test.cpp unit/topic_trie_test.cpp unit/protocol_test.cpp
  unit/queue_test.cpp unit/consumer_registry_test.cpp unit/connect_fsm_test.cpp
  unit/unique_function_test.cpp unit/shm_ring_test.cpp
  unit/storage_test.cpp transport/transport_test.cpp integration/pubsub_test.cpp
  integration/queue_test.cpp integration/reqrep_test.cpp windows/named_pipe_test.cpp
  windows/service_test.cpp windows/shm_test.cpp)
target_link_libraries(windows_tests PRIVATE ipcd_doctest_main ipcd_test_support ipcd_storage
  ipcd_credentials nlohmann_json::nlohmann_json ipcd_warnings)
target_include_directories(windows_tests PRIVATE ${CMAKE_SOURCE_DIR}/client/src)
target_compile_definitions(windows_tests PRIVATE
  IPCD_TEST_IPCD_BINARY="$<TARGET_FILE:ipcd>" IPCD_TEST_IPCCTL_BINARY="$<TARGET_FILE:ipcctl>")
add_dependencies(windows_tests ipcd ipcctl)
# Wine starts slowly: each test gets more time than on Linux.
doctest_discover_tests(windows_tests PROPERTIES LABELS windows TIMEOUT 300)
