# `sparkctl deploy` on a 3-node local cluster in network namespaces with a real sshd in each:
# --check changes nothing, a real run sets everything up (strict-host-key logins between all
# nodes, nccl.conf), a second run changes nothing, and a node whose agent dies half-way is
# unreachable then skipped while the others finish. Included from
# tests/integration/CMakeLists.txt, after validate_netns.cmake (which defines agent_call).

# Needs root, iproute2, iperf3, ping, sshd and jq; exits 77 (skipped) without them.
add_test(NAME deploy_netns
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy_netns_test.sh)
set_tests_properties(deploy_netns PROPERTIES
  LABELS netns
  SKIP_RETURN_CODE 77
  TIMEOUT 600
  RESOURCE_LOCK sparkfleet_netns
  ENVIRONMENT
    "SPARKCTL=$<TARGET_FILE:sparkctl>;SPARK_AGENT=$<TARGET_FILE:spark-agent>;AGENT_CALL=$<TARGET_FILE:agent_call>")
