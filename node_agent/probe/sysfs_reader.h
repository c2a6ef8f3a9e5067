// SysfsReader reads sysfs/procfs files through the Env and turns every problem into a
// ProbeWarning (path and what was wrong) instead of a failure, so one garbled file never
// hides the rest of the machine.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_SYSFS_READER_H_
#define SPARKFLEET_NODE_AGENT_PROBE_SYSFS_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

class SysfsReader {
 public:
  // `warnings` collects problems; both must outlive the reader.
  SysfsReader(Env& env, google::protobuf::RepeatedPtrField<v1::ProbeWarning>* warnings)
      : env_(env), warnings_(warnings) {}

  // The file's content without surrounding whitespace. A missing file is nullopt, with a
  // warning unless `optional`; an empty file is nullopt without a warning (sysfs answers
  // EINVAL or nothing for attributes that do not apply).
  std::optional<std::string> Read(absl::string_view path, bool optional = false);

  // Read() then `parse`; a parse error becomes a warning naming the path.
  template <typename T, typename Parser>
  std::optional<T> Parse(absl::string_view path, Parser parse, bool optional = false) {
    std::optional<std::string> text = Read(path, optional);
    if (!text) return std::nullopt;
    absl::StatusOr<T> value = parse(*text);
    if (!value.ok()) {
      Warn(path, value.status().message());
      return std::nullopt;
    }
    return *value;
  }

  // A decimal or 0x-prefixed hexadecimal integer.
  std::optional<int64_t> ReadInt(absl::string_view path, bool optional = false);

  // Names in a directory; empty (no warning) when it does not exist.
  std::vector<std::string> List(absl::string_view path);

  // The path with symlinks resolved; nullopt (warning unless optional) when broken.
  std::optional<std::string> RealPath(absl::string_view path, bool optional = false);

  bool Exists(absl::string_view path) { return env_.Exists(path); }

  void Warn(absl::string_view path, absl::string_view message);

  Env& env() { return env_; }

 private:
  Env& env_;
  google::protobuf::RepeatedPtrField<v1::ProbeWarning>* warnings_;
};

// The last component of a path.
absl::string_view Basename(absl::string_view path);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_SYSFS_READER_H_
