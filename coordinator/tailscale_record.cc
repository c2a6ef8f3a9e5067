#include "coordinator/tailscale_record.h"

#include <google/protobuf/util/json_util.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "common/validate.h"
#include "coordinator/render.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {
namespace {

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The whole record, for any cluster; empty when absent or not a record.
v1::ClusterConfig ReadRecord(Env& env, const std::string& path) {
  v1::ClusterConfig record;
  absl::StatusOr<std::string> text = env.ReadFile(path);
  if (!text.ok()) return record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(*text, &record, options).ok()) {
    return v1::ClusterConfig();
  }
  return record;
}

}  // namespace

std::string TailscaleRecordPath(const std::string& config_path) {
  return absl::StrCat(DirectoryOf(AbsolutePath(config_path)), "/.sparkfleet/tailscale.json");
}

TailscaleAddresses LoadTailscaleAddresses(const std::string& config_path,
                                          const ClusterConfig& config) {
  std::unique_ptr<Env> env = NewRootedEnv("/");
  v1::ClusterConfig record = ReadRecord(*env, TailscaleRecordPath(config_path));
  TailscaleAddresses addresses;
  if (record.cluster_name() != config.cluster_name) return addresses;
  for (const ClusterNode& node : config.nodes) {
    auto it = record.tailscale_ip().find(node.hostname);
    if (it != record.tailscale_ip().end() && ValidateIpAddress(it->second).ok()) {
      addresses[node.hostname] = it->second;
    }
  }
  return addresses;
}

absl::Status SaveTailscaleAddresses(const std::string& config_path, const ClusterConfig& config,
                                    const TailscaleAddresses& learnt) {
  std::unique_ptr<Env> env = NewRootedEnv("/");
  const std::string path = TailscaleRecordPath(config_path);
  v1::ClusterConfig record = ReadRecord(*env, path);
  if (record.cluster_name() != config.cluster_name) record.Clear();
  record.set_cluster_name(config.cluster_name);
  for (const auto& [node, address] : learnt) (*record.mutable_tailscale_ip())[node] = address;
  if (absl::Status s = env->MakeDirs(DirectoryOf(path), 0755); !s.ok()) return s;
  WriteOptions options;
  options.backup = false;
  absl::StatusOr<std::string> written =
      env->WriteFileAtomic(path, MessageJson(record, true) + "\n", options);
  if (!written.ok()) {
    return absl::Status(written.status().code(),
                        absl::StrCat("cannot record Tailscale addresses in ", path, ": ",
                                     written.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
