// Node roots for set-up tests: a DGX Spark fixture tree plus what the set-up operations
// need on a real node (a user, sshd_config, a host key, /etc/hosts, fstab), and doubles of
// sshd and systemctl that log their arguments and succeed.
#ifndef SPARKFLEET_TESTS_INTEGRATION_NODE_SEED_H_
#define SPARKFLEET_TESTS_INTEGRATION_NODE_SEED_H_

#include <string>

namespace sparkfleet::testing {

// Host keys for seeded nodes (public halves only; no private key is needed).
inline constexpr const char* kSeedHostKeys[] = {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPJqZe2OfgWlPdHoAzrmhGpn8DGGzynmMixrlIGwzhb",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJAwiQRyqqV/APq2X8JjWFEaGauGSfjWo4ZGpENRGDk",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII1t2nuFqvpBDy/tNy8FBQBkA9rCxcrxt0sOwXOwa/H2"};

// sshd and systemctl doubles in `dir` that append "TOOL ARGS" to `log` and succeed.
void WriteSshTools(const std::string& dir, const std::string& log);

// A copy of the DGX Spark fixture at `seed` with user nvidia (this test's uid and gid,
// home /home/nvidia), /etc/ssh/sshd_config including its drop-ins, `host_key` as the
// ed25519 host key, /etc/hosts and /etc/fstab.
void WriteSeed(const std::string& seed, const std::string& host_key);

}  // namespace sparkfleet::testing

#endif  // SPARKFLEET_TESTS_INTEGRATION_NODE_SEED_H_
