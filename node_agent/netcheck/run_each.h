// RunEach: runs fn(0) .. fn(n - 1) on at most `parallel` threads and returns when every
// call has returned. The threads are the caller's: started and joined here, never
// detached. For per-target child processes (ping, ssh), which spend their time waiting.
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_RUN_EACH_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_RUN_EACH_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace sparkfleet {

// REQUIRES: fn is safe to call concurrently for different indexes.
template <typename Fn>
void RunEach(size_t n, size_t parallel, const Fn& fn) {
  if (n == 0) return;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> threads;
  size_t count = std::max<size_t>(1, std::min(n, parallel));
  for (size_t t = 1; t < count; ++t) threads.emplace_back(worker);
  worker();
  for (std::thread& thread : threads) thread.join();
}

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_RUN_EACH_H_
