#include "node_agent/ops/tailscale_settings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "common/validate.h"
#include "node_agent/netcheck/json_reader.h"

namespace sparkfleet {
namespace {

constexpr int kMaxRoutes = 64;
constexpr uint32_t kMaxTimeoutS = 3600;

// "10.1.0.0/16" stays; "10.1.2.3/16" is refused, naming the prefix meant.
absl::Status ValidateRoute(const std::string& route) {
  const std::string quoted = absl::StrCat("advertise_routes: \"", absl::CHexEscape(route), "\"");
  size_t slash = route.find('/');
  int bits = -1;
  if (slash == std::string::npos || !absl::SimpleAtoi(route.substr(slash + 1), &bits) ||
      route.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " is not a CIDR prefix (10.0.0.0/24, fd00::/64)"));
  }
  std::string address = route.substr(0, slash);
  unsigned char bytes[16] = {};
  bool v6 = address.find(':') != std::string::npos;
  int max_bits = v6 ? 128 : 32;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1 || bits < 0 ||
      bits > max_bits || route.substr(slash + 1) != absl::StrCat(bits)) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " is not a CIDR prefix (10.0.0.0/24, fd00::/64)"));
  }
  if (bits == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        quoted, " is a default route; an exit node is not set up by sparkfleet, name subnets"));
  }
  unsigned char masked[16] = {};
  for (int i = 0; i < max_bits / 8; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    masked[i] = bytes[i] & static_cast<unsigned char>(0xff00 >> keep);
  }
  if (!std::equal(masked, masked + max_bits / 8, bytes)) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, masked, text, sizeof(text));
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " has host bits set; did you mean ", text, "/", bits, "?"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAuthKey(const std::string& key) {
  bool plain = !key.empty() && key.size() <= 256 && absl::StartsWith(key, "tskey-");
  for (char c : key) {
    plain = plain && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
  if (key.empty() || plain) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "auth_key is not a Tailscale auth key (tskey-..., letters, digits, '-' and '_'); its "
      "value is not shown");
}

std::string RandomHex(int bytes) {
  std::random_device random;
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    absl::StrAppend(&out, absl::Hex(random() & 0xff, absl::kZeroPad2));
  }
  return out;
}

}  // namespace

absl::Status ValidateTailscaleUpRequest(const v1::TailscaleUpRequest& request) {
  if (absl::Status s = ValidateAuthKey(request.auth_key()); !s.ok()) return s;
  if (!request.hostname().empty()) {
    if (absl::Status s = ValidateHostname(request.hostname()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("hostname: ", s.message()));
    }
  }
  if (request.advertise_routes_size() > kMaxRoutes) {
    return absl::InvalidArgumentError(absl::StrCat("advertise_routes has ",
                                                   request.advertise_routes_size(),
                                                   " prefixes; at most ", kMaxRoutes));
  }
  for (const std::string& route : request.advertise_routes()) {
    if (absl::Status s = ValidateRoute(route); !s.ok()) return s;
  }
  if (request.timeout_s() > kMaxTimeoutS) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout_s ", request.timeout_s(), " is over an hour (", kMaxTimeoutS, ")"));
  }
  return absl::OkStatus();
}

TailscaleSettings WantedTailscaleSettings(const v1::TailscaleUpRequest& request,
                                          absl::string_view node_name) {
  TailscaleSettings settings;
  settings.hostname = request.hostname().empty() ? std::string(node_name) : request.hostname();
  settings.advertise_routes = {request.advertise_routes().begin(),
                               request.advertise_routes().end()};
  std::sort(settings.advertise_routes.begin(), settings.advertise_routes.end());
  settings.advertise_routes.erase(
      std::unique(settings.advertise_routes.begin(), settings.advertise_routes.end()),
      settings.advertise_routes.end());
  settings.accept_routes = request.accept_routes();
  settings.ssh = request.ssh();
  return settings;
}

std::string RenderTailscaleUpRecord(const TailscaleSettings& settings) {
  std::vector<std::string> routes;
  for (const std::string& route : settings.advertise_routes) {
    routes.push_back(absl::StrCat("\"", route, "\""));
  }
  return absl::StrCat(
      "{\n  \"written_by\": \"sparkfleet: the settings of the last successful tailscale up\",\n",
      "  \"hostname\": \"", settings.hostname, "\",\n", "  \"advertise_routes\": [",
      absl::StrJoin(routes, ", "), "],\n",
      "  \"accept_routes\": ", settings.accept_routes ? "true" : "false", ",\n",
      "  \"ssh\": ", settings.ssh ? "true" : "false", "\n}\n");
}

std::optional<TailscaleSettings> ParseTailscaleUpRecord(absl::string_view text) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(text);
  if (!doc.ok() || doc->kind() != JsonValue::Kind::kObject) return std::nullopt;
  std::optional<std::string> hostname = doc->StringAt({"hostname"});
  const JsonValue* routes = doc->Find("advertise_routes");
  const JsonValue* accept = doc->Find("accept_routes");
  const JsonValue* ssh = doc->Find("ssh");
  if (!hostname || routes == nullptr || accept == nullptr || ssh == nullptr || !accept->AsBool() ||
      !ssh->AsBool()) {
    return std::nullopt;
  }
  TailscaleSettings settings;
  settings.hostname = *hostname;
  for (const JsonValue& route : routes->items()) {
    if (std::optional<std::string> text = route.AsString()) {
      settings.advertise_routes.push_back(*text);
    }
  }
  std::sort(settings.advertise_routes.begin(), settings.advertise_routes.end());
  settings.accept_routes = *accept->AsBool();
  settings.ssh = *ssh->AsBool();
  return settings;
}

std::string RedactSecret(absl::string_view text, absl::string_view secret) {
  if (secret.empty()) return std::string(text);
  return absl::StrReplaceAll(text, {{secret, "<redacted>"}});
}

absl::StatusOr<std::unique_ptr<SecretFile>> SecretFile::Create(Env& env, absl::string_view dir,
                                                               absl::string_view prefix,
                                                               absl::string_view secret) {
  if (absl::Status s = env.MakeDirs(dir, 0700); !s.ok()) return s;
  // MakeDirs leaves an existing directory as it was: make sure nobody else can list it.
  if (absl::Status s = env.SetOwnerAndMode(dir, 0700, std::nullopt, std::nullopt); !s.ok()) {
    return s;
  }
  std::string path = absl::StrCat(dir, "/", prefix, RandomHex(12));
  WriteOptions options;
  options.mode = 0600;
  options.backup = false;
  absl::StatusOr<std::string> written = env.WriteFileAtomic(path, secret, options);
  if (!written.ok()) {
    (void)env.RemoveFile(path);
    return absl::Status(written.status().code(),
                        absl::StrCat("cannot write the auth key file ", path, ": ",
                                     RedactSecret(written.status().message(), secret)));
  }
  return std::unique_ptr<SecretFile>(new SecretFile(env, std::move(path)));
}

SecretFile::~SecretFile() {
  if (absl::Status s = env_.RemoveFile(path_); !s.ok()) {
    LogError("could not remove the auth key file ", path_, ": ", s.message(),
             "; remove it by hand");
  }
}

}  // namespace sparkfleet
