// nccl.conf as ReadNcclConf reads it: each file's lines the way NCCL parses them, the home
// directory from passwd(5), and the whole read through an Env over a scratch tree (whose
// ~/.nccl.conf, which setting wins).
//
// Input, four parts separated by "%%%%" lines: /etc/nccl.conf; the user's ~/.nccl.conf;
// /etc/passwd; the user's name on the first line, then the agent's NCCL_* environment as
// KEY=VALUE lines.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/passwd.h"
#include "node_agent/ops/nccl_conf_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr uid_t kAgentUid = 1000;

sparkfleet::NcclProcessFacts ProcessFacts(absl::string_view environment) {
  sparkfleet::NcclProcessFacts facts;
  facts.uid = kAgentUid;
  for (absl::string_view line : absl::StrSplit(environment, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    facts.environment.emplace_back(std::string(kv.first), std::string(kv.second));
  }
  return facts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  static fuzz::ScratchTree tree;  // one per process, removed at exit

  std::vector<absl::string_view> parts = fuzz::SplitParts(fuzz::AsText(data, size), 4);
  absl::string_view etc_conf = parts[0], user_conf = parts[1], passwd = parts[2];
  std::pair<absl::string_view, absl::string_view> user_and_env =
      absl::StrSplit(parts[3], absl::MaxSplits('\n', 1));

  for (absl::string_view text : {etc_conf, user_conf}) {
    v1::NcclConfFile file = ParseNcclConfText(text, "/etc/nccl.conf");
    fuzz::CheckWireRoundTrip(file, "ParseNcclConfText");
  }
  (void)HomeFromPasswd(passwd, user_and_env.first, kAgentUid);  // any name, as written
  (void)FindPasswdEntry(passwd, user_and_env.first);

  v1::ReadNcclConfRequest request;
  request.set_user(std::string(user_and_env.first));
  if (!ValidateReadNcclConfRequest(request).ok()) request.clear_user();
  tree.Clear();
  tree.WriteFile("/etc/nccl.conf", etc_conf);
  if (!passwd.empty()) tree.WriteFile("/etc/passwd", passwd);
  // Where ReadNcclConf will look for ~/.nccl.conf (a tree without passwd: /root, /home/U).
  std::optional<std::string> home = HomeFromPasswd(passwd, request.user(), kAgentUid);
  if (passwd.empty()) {
    home = request.user().empty() || request.user() == "root"
               ? std::string("/root")
               : absl::StrCat("/home/", request.user());
  }
  if (home.has_value()) tree.WriteFile(absl::StrCat(*home, "/.nccl.conf"), user_conf);

  absl::StatusOr<v1::ReadNcclConfReply> reply =
      ReadNcclConf(tree.env(), request, ProcessFacts(user_and_env.second));
  if (reply.ok()) {
    fuzz::CheckWireRoundTrip(*reply, "ReadNcclConf");
  } else {
    fuzz::Check(!reply.status().message().empty(), "ReadNcclConf failed without a message");
  }
  return 0;
}
