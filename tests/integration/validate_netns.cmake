# The network-namespace harness (netns_harness.sh, agent_call) and `sparkctl validate` run
# on a 3-node local cluster in namespaces: real ICMP, iperf3 and sshd between the nodes.
# Included from tests/integration/CMakeLists.txt.
add_executable(agent_call agent_call.cc)
target_compile_options(agent_call PRIVATE ${SPARKFLEET_WARNINGS})
target_link_libraries(agent_call PRIVATE sparkfleet_coordinator)

# Needs root, iproute2, iperf3, ping, sshd and jq; exits 77 (skipped) without them.
add_test(NAME validate_netns
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/validate_netns_test.sh)
set_tests_properties(validate_netns PROPERTIES
  LABELS netns
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  RESOURCE_LOCK sparkfleet_netns
  ENVIRONMENT
    "SPARKCTL=$<TARGET_FILE:sparkctl>;SPARK_AGENT=$<TARGET_FILE:spark-agent>;AGENT_CALL=$<TARGET_FILE:agent_call>")

# `sparkctl multi-node` / `single-node` against the real sshd local-cluster.sh runs in each
# namespace: strict-host-key logins between all nodes, idempotence, sshd -t rollback.
add_test(NAME multi_node_netns
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/multi_node_netns_test.sh)
set_tests_properties(multi_node_netns PROPERTIES
  LABELS netns
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  RESOURCE_LOCK sparkfleet_netns
  ENVIRONMENT
    "SPARKCTL=$<TARGET_FILE:sparkctl>;SPARK_AGENT=$<TARGET_FILE:spark-agent>;AGENT_CALL=$<TARGET_FILE:agent_call>")
