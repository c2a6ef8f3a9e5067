#include "coordinator/bandwidth_record.h"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <memory>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/env.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool Measured(const v1::CheckResult& check) {
  return (check.test() == v1::VALIDATE_TEST_BANDWIDTH || check.test() == v1::VALIDATE_TEST_RDMA) &&
         check.has_bandwidth() && check.verdict() != v1::CHECK_VERDICT_SKIPPED;
}

}  // namespace

std::string BandwidthRecordPath(const std::string& config_path) {
  return absl::StrCat(DirectoryOf(AbsolutePath(config_path)), "/.sparkfleet/last-bandwidth.jsonl");
}

std::vector<v1::CheckResult> LoadBandwidthRecord(const std::string& config_path) {
  std::vector<v1::CheckResult> checks;
  if (config_path.empty()) return checks;
  std::unique_ptr<Env> env = NewRootedEnv("/");
  absl::StatusOr<std::string> text = env->ReadFile(BandwidthRecordPath(config_path));
  if (!text.ok()) return checks;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    v1::CheckResult check;
    if (google::protobuf::util::JsonStringToMessage(std::string(line), &check, options).ok()) {
      checks.push_back(std::move(check));
    }
  }
  return checks;
}

absl::Status SaveBandwidthRecord(const std::string& config_path,
                                 const std::vector<v1::CheckResult>& checks) {
  using Key = std::tuple<int, std::string, std::string>;
  std::map<Key, v1::CheckResult> newest;
  auto add = [&newest](const v1::CheckResult& check) {
    if (Measured(check)) newest[{check.test(), check.source(), check.target()}] = check;
  };
  bool any = false;
  for (const v1::CheckResult& check : checks) any = any || Measured(check);
  if (!any || config_path.empty()) return absl::OkStatus();  // nothing to keep, nowhere
  for (const v1::CheckResult& check : LoadBandwidthRecord(config_path)) add(check);
  for (const v1::CheckResult& check : checks) add(check);
  std::string text;
  for (const auto& [key, check] : newest) absl::StrAppend(&text, MessageJson(check), "\n");
  std::unique_ptr<Env> env = NewRootedEnv("/");
  const std::string path = BandwidthRecordPath(config_path);
  if (absl::Status s = env->MakeDirs(DirectoryOf(path), 0755); !s.ok()) return s;
  WriteOptions options;
  options.backup = false;
  absl::StatusOr<std::string> written = env->WriteFileAtomic(path, text, options);
  if (!written.ok()) {
    return absl::Status(written.status().code(),
                        absl::StrCat("cannot record the bandwidth measured in ", path, ": ",
                                     written.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
