#include "common/grpc_status.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

TEST(ToGrpcStatus, KeepsCodeAndShortMessages) {
  grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError("entries[0].address: bad"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "entries[0].address: bad");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

// A validator quoting a 64 KiB value would otherwise put 64 KiB in the grpc-message
// trailer, and the client would drop the reply ("metadata size exceeds limit").
TEST(ToGrpcStatus, CutsLongMessagesOnACharacterBoundary) {
  const std::string prefix = "hostname: \"";
  std::string value(64 << 10, 'a');
  // An é whose second byte would be the first one cut (the cut keeps 64 bytes spare).
  value.replace(kMaxGrpcMessageBytes - 64 - 1 - prefix.size(), 2, "\xc3\xa9");
  grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError(prefix + value + "\" is too long"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(status.error_message().size(), kMaxGrpcMessageBytes);
  EXPECT_THAT(status.error_message(), StartsWith("hostname: \"aaa"));
  EXPECT_THAT(status.error_message(), EndsWith(" more bytes cut)"));
  EXPECT_EQ(status.error_message().find("\xc3..."), std::string::npos);
}

}  // namespace
}  // namespace sparkfleet
