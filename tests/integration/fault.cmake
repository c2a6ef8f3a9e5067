# Issue 9, fault injection: SIGKILL in the middle of writing each managed file, through
# the operations themselves (forked writers, thousands of kills) and through a real
# spark-agent (killed mid-RPC). A full disk and a read-only filesystem are unit tests:
# common/fault_env_test.cc and node_agent/ops/file_faults_test.cc.
# Included from tests/integration/CMakeLists.txt.
add_executable(fault_kill_test fault_kill_test.cc)
target_compile_options(fault_kill_test PRIVATE ${SPARKFLEET_WARNINGS})
target_compile_definitions(fault_kill_test PRIVATE SPARKFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(fault_kill_test PRIVATE
  sparkfleet_test_harness sparkfleet_agent GTest::gmock_main)
add_dependencies(fault_kill_test spark-agent)
gtest_discover_tests(fault_kill_test
  PROPERTIES LABELS integration TIMEOUT 120 DISCOVERY_TIMEOUT 60)
