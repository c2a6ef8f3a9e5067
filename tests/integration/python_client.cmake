# deploy/examples/sparkfleet_client.py (Debian's python3-grpcio, stubs from grpc_python_plugin)
# against `sparkctl serve` on a 2-node loopback local cluster: reader and admin certificates,
# dry-run deploy. Included from tests/integration/CMakeLists.txt.
#
# The stubs come from deploy/examples' sparkfleet_python_stubs target, which is part of ALL
# (as sparkctl and spark-agent are); without grpc_python_plugin it does not exist and the
# test exits 77 (skipped), saying so, as it does without python3-grpcio or jq.
add_test(NAME python_client
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python_client_test.sh)
set_tests_properties(python_client PROPERTIES
  LABELS integration
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  ENVIRONMENT
    "SPARKCTL=$<TARGET_FILE:sparkctl>;SPARK_AGENT=$<TARGET_FILE:spark-agent>;SPARKFLEET_PY_STUBS=${PROJECT_BINARY_DIR}/python")
