// What the libFuzzer targets share: reading one input as several texts, a check that
// aborts (so libFuzzer keeps the input) when a parser breaks its own contract, a
// round trip through protobuf's wire format, and a throwaway directory tree for the
// parsers that only read through an Env.
//
// Several texts in one input are separated by a line that is exactly "%%%%":
//
//   NCCL_DEBUG=INFO        <- part 0
//   %%%%
//   root:x:0:0::/root:/bin/sh   <- part 1
#ifndef SPARKFLEET_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define SPARKFLEET_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "google/protobuf/message.h"

namespace sparkfleet::fuzz {

inline absl::string_view AsText(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// The texts between "%%%%" lines; exactly `parts` of them (missing ones are empty, and
// the last one keeps any further separators).
std::vector<absl::string_view> SplitParts(absl::string_view text, size_t parts);

// Aborts with `what` and `detail` on stderr when `condition` is false: a contract the
// parser's header promises was broken.
void Check(bool condition, absl::string_view what, absl::string_view detail = "");

// Checks that a failed status has `code` and a message, as the parser's header says.
void CheckError(const absl::Status& status, absl::StatusCode code, absl::string_view parser);

// Serializes `message` and parses it back, as gRPC does with every reply the agent
// sends; Check()s that the copy parses (proto3 strings must be UTF-8) and is equal.
void CheckWireRoundTrip(const google::protobuf::Message& message, absl::string_view parser);

// A directory tree rebuilt for each input, $TMPDIR/sparkfleet-fuzz-tree-<pid> (trees
// left by processes that are gone, crashed ones, are removed on creation), from lines of
//
//   f PATH CONTENT   a file (C escapes such as \n in CONTENT are decoded)
//   d PATH           a directory
//   l PATH TARGET    a symlink (TARGET as written)
//
// PATHs are taken below the tree's root ("/sys/x" and "sys/x" are the same place); a
// line with "." or ".." in its path, or one that does not fit, is skipped. Symlinks are
// made last, and never inside a symlink, so nothing is ever written outside the root.
class ScratchTree {
 public:
  ScratchTree();  // creates the root; aborts when it cannot
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;
  ~ScratchTree();  // removes it

  // Empties the root, then builds `spec` in it.
  void Build(absl::string_view spec);
  // Writes one file (a node path such as "/etc/nccl.conf"), making its directories.
  void WriteFile(absl::string_view path, absl::string_view content);
  // Empties the root.
  void Clear();

  // An Env rooted at the tree.
  Env& env() { return *env_; }

 private:
  std::string root_;
  std::unique_ptr<Env> env_;
};

}  // namespace sparkfleet::fuzz

#endif  // SPARKFLEET_TESTS_FUZZ_FUZZ_SUPPORT_H_
