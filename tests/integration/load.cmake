# Load on one real spark-agent: 1,000 concurrent Probe/GetInfo calls from several clients
# against a low call cap (all OK or RESOURCE_EXHAUSTED, bounded peak RSS), concurrent
# WriteNcclConf calls serialized, and a request over the 4 MiB message limit refused.
# Included from tests/integration/CMakeLists.txt. RUN_SERIAL: the burst and the RSS figure
# mean something only when the agent is not sharing the CPUs with other tests.
add_executable(load_test load_test.cc)
target_compile_options(load_test PRIVATE ${SPARKFLEET_WARNINGS})
target_compile_definitions(load_test PRIVATE SPARKFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(load_test PRIVATE sparkfleet_test_harness GTest::gmock_main)
add_dependencies(load_test spark-agent)
gtest_discover_tests(load_test
  PROPERTIES LABELS integration RUN_SERIAL TRUE TIMEOUT 300
  DISCOVERY_TIMEOUT 60)
