# Hostile input against one real spark-agent: shell metacharacters, traversal, NUL bytes,
# long strings, bad CIDRs and interface names and leading '-' in every field of the
# mutating RPCs (and of those that start programs) are refused with INVALID_ARGUMENT
# naming the field, with nothing written under the agent's root and nothing run.
# Included from tests/integration/CMakeLists.txt.
add_executable(hostile_input_test hostile_input_test.cc)
target_compile_options(hostile_input_test PRIVATE ${SPARKFLEET_WARNINGS})
target_compile_definitions(hostile_input_test PRIVATE
  SPARKFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(hostile_input_test PRIVATE sparkfleet_test_harness GTest::gmock_main)
add_dependencies(hostile_input_test spark-agent)
gtest_discover_tests(hostile_input_test
  PROPERTIES LABELS integration TIMEOUT 300
  DISCOVERY_TIMEOUT 60)
