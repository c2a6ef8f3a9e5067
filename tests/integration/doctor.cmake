# sparkctl doctor against three real spark-agents on DGX Spark fixture roots, with ping and
# chronyc doubles: a clean cluster, planted problems, a node whose agent is down.
# Included from tests/integration/CMakeLists.txt.
add_executable(doctor_test doctor_test.cc)
target_compile_options(doctor_test PRIVATE ${SPARKFLEET_WARNINGS})
target_compile_definitions(doctor_test PRIVATE SPARKFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(doctor_test PRIVATE sparkfleet_test_harness GTest::gmock_main)
add_dependencies(doctor_test spark-agent sparkctl)
gtest_discover_tests(doctor_test
  PROPERTIES LABELS integration TIMEOUT 300
  DISCOVERY_TIMEOUT 60)
