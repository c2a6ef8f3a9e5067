#include "tests/integration/node_seed.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace sparkfleet::testing {

void WriteSshTools(const std::string& dir, const std::string& log) {
  std::filesystem::create_directories(dir);
  for (const char* tool : {"sshd", "systemctl"}) {
    std::string path = absl::StrCat(dir, "/", tool);
    std::ofstream(path) << "#!/bin/sh\necho \"" << tool << " $*\" >> '" << log << "'\n";
    chmod(path.c_str(), 0755);
  }
}

void WriteSeed(const std::string& seed, const std::string& host_key) {
  std::filesystem::copy(
      std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark", seed,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  std::filesystem::create_directories(seed + "/home/nvidia");
  std::filesystem::create_directories(seed + "/etc/ssh/sshd_config.d");
  std::filesystem::create_directories(seed + "/etc/netplan");
  std::ofstream(seed + "/etc/passwd") << "root:x:0:0:root:/root:/bin/bash\nnvidia:x:" << getuid()
                                      << ":" << getgid() << "::/home/nvidia:/bin/bash\n";
  std::ofstream(seed + "/etc/ssh/sshd_config") << "Include /etc/ssh/sshd_config.d/*.conf\n";
  std::ofstream(seed + "/etc/ssh/ssh_host_ed25519_key.pub") << host_key << " root@node\n";
  std::ofstream(seed + "/etc/hosts") << "127.0.0.1 localhost\n";
  std::ofstream(seed + "/etc/fstab") << "UUID=abc / ext4 defaults 0 1\n";
}

}  // namespace sparkfleet::testing
