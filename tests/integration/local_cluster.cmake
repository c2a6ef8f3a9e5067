# deploy/local-cluster.sh end to end: 3 agents up, `sparkctl status` sees them all, and `down`
# (twice in a row, and after a failed up) leaves no process, namespace or link behind.
# Included from tests/integration/CMakeLists.txt.
set(_sparkfleet_local_cluster_env
  "SPARKCTL=$<TARGET_FILE:sparkctl>;SPARK_AGENT=$<TARGET_FILE:spark-agent>")

add_test(NAME local_cluster_loopback
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/local_cluster_test.sh --loopback)
set_tests_properties(local_cluster_loopback PROPERTIES
  LABELS integration
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  ENVIRONMENT "${_sparkfleet_local_cluster_env}")

# Needs root; exits 77 (skipped) without it. The lock keeps netns tests from running side by
# side: each compares the host's namespaces and links before and after.
add_test(NAME local_cluster_netns
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/local_cluster_test.sh --netns)
set_tests_properties(local_cluster_netns PROPERTIES
  LABELS netns
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  RESOURCE_LOCK sparkfleet_netns
  ENVIRONMENT "${_sparkfleet_local_cluster_env}")

# The sshd local-cluster.sh runs in every node's namespace (configured from the node's root) and
# the tool shims on the agents' --tool-path. Needs root, iproute2, ssh, ssh-keygen, ss and sshd;
# exits 77 (skipped) without them.
add_test(NAME local_cluster_sshd
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/local_cluster_sshd_test.sh)
set_tests_properties(local_cluster_sshd PROPERTIES
  LABELS netns
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  RESOURCE_LOCK sparkfleet_netns
  ENVIRONMENT "${_sparkfleet_local_cluster_env}")
