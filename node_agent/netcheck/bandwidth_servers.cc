#include "node_agent/netcheck/bandwidth_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

constexpr absl::Duration kListenWait = absl::Seconds(5);
constexpr int kPortTries = 3;

// A socket address for `address`:`port`; false when `address` is not an IP literal.
bool MakeSockaddr(const std::string& address, uint16_t port, sockaddr_storage& out,
                  socklen_t& length) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// A port nobody uses on `address` now (the kernel's pick for port 0).
absl::StatusOr<uint16_t> PickFreePort(const std::string& address) {
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!MakeSockaddr(address, 0, storage, length)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not an IP address"));
  }
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  absl::StatusOr<uint16_t> port = absl::InternalError("unset");
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    int error = errno;
    port = error == EADDRNOTAVAIL
               ? absl::InvalidArgumentError(absl::StrCat(
                     "BandwidthServeRequest.bind_address: ", address,
                     " is not an address of this node (bind: ", std::strerror(error), ")"))
               : absl::InternalError(absl::StrCat("bind ", address, ": ", std::strerror(error)));
  } else if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    port = absl::InternalError(absl::StrCat("getsockname: ", std::strerror(errno)));
  } else {
    port =
        ntohs(storage.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  close(fd);
  return port;
}

}  // namespace

bool TcpPortListening(const std::string& address, uint16_t port) {
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!MakeSockaddr(address, port, storage, length)) return false;
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool listening =
      bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 && errno == EADDRINUSE;
  close(fd);
  return listening;
}

BandwidthServers::BandwidthServers(ProcessRunner& runner) : runner_(runner) {}

BandwidthServers::~BandwidthServers() { Stop(); }

absl::StatusOr<v1::BandwidthServer> BandwidthServers::Start(const std::string& bind_address,
                                                            const BandwidthServerCommand& command) {
  JoinFinished();
  absl::Status last = absl::InternalError("no port tried");
  for (int attempt = 0; attempt < kPortTries; ++attempt) {
    if (stopping_) return absl::UnavailableError("spark-agent is shutting down");
    absl::StatusOr<uint16_t> port = PickFreePort(bind_address);
    if (!port.ok()) return port.status();
    bool port_taken = false;
    absl::StatusOr<v1::BandwidthServer> server =
        StartOnce(bind_address, command, *port, port_taken);
    // Someone else took the port between our pick and the server's bind: pick again.
    if (server.ok() || !port_taken) return server;
    last = server.status();
  }
  return last;
}

std::function<bool()> BandwidthServers::KillWhen(Server* server, absl::Duration accept_timeout) {
  absl::Time accept_deadline = absl::Now() + accept_timeout;
  bool watch_accept = accept_timeout > absl::ZeroDuration();
  // Once a client came the listener is gone (the tools accept one client and close it):
  // stop probing then.
  auto claimed = std::make_shared<std::atomic<bool>>(false);
  return [this, server, accept_deadline, watch_accept, claimed] {
    if (stopping_.load() || server->abandoned.load()) return true;
    if (!watch_accept || claimed->load() || absl::Now() < accept_deadline) return false;
    if (TcpPortListening(server->address, server->port)) return true;
    claimed->store(true);
    return false;
  };
}

absl::StatusOr<v1::BandwidthServer> BandwidthServers::StartOnce(
    const std::string& bind_address, const BandwidthServerCommand& command, uint16_t port,
    bool& port_taken) {
  auto owned = std::make_unique<Server>();
  Server* server = owned.get();
  server->address = bind_address;
  server->port = port;
  std::vector<std::string> argv = command.argv(port);
  ProcessOptions process;
  process.timeout = command.timeout;
  process.cancelled = KillWhen(server, command.accept_timeout);
  process.env = {{"LC_ALL", "C"}};
  process.max_output_bytes = 1 << 20;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("spark-agent is shutting down");
    server->thread = std::thread([this, server, argv, process] {
      server->result = runner_.Run(argv, process);
      server->finished.store(true, std::memory_order_release);
    });
    servers_.push_back(std::move(owned));
  }
  std::string where = FormatHostPort(bind_address, port);
  absl::Time deadline = absl::Now() + kListenWait;
  while (!TcpPortListening(bind_address, port)) {
    if (server->finished.load(std::memory_order_acquire)) {
      if (!server->result.ok()) return server->result.status();
      std::string why = command.error(*server->result);
      port_taken = command.port_taken(why);
      return absl::FailedPreconditionError(
          absl::StrCat(command.tool, " server on ", where, " exited before listening: ", why));
    }
    if (absl::Now() >= deadline) {
      server->abandoned.store(true);
      return absl::FailedPreconditionError(
          absl::StrCat(command.tool, " server on ", where, " not listening after ",
                       absl::FormatDuration(kListenWait), "; it was killed"));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  v1::BandwidthServer reply;
  reply.set_address(bind_address);
  reply.set_port(port);
  return reply;
}

void BandwidthServers::Abandon(const v1::BandwidthServer& server) {
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<Server>& s : servers_) {
    if (s->address == server.address() && s->port == server.port()) s->abandoned.store(true);
  }
}

void BandwidthServers::JoinFinished() {
  std::list<std::unique_ptr<Server>> done;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = servers_.begin(); it != servers_.end();) {
      if ((*it)->finished.load(std::memory_order_acquire)) {
        done.push_back(std::move(*it));
        it = servers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::unique_ptr<Server>& server : done) server->thread.join();
}

void BandwidthServers::Stop() {
  std::list<std::unique_ptr<Server>> all;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    all.swap(servers_);
  }
  for (const std::unique_ptr<Server>& server : all) server->thread.join();
}

int BandwidthServers::running() {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const std::unique_ptr<Server>& server : servers_) {
    count += !server->finished.load(std::memory_order_acquire);
  }
  return count;
}

}  // namespace sparkfleet
