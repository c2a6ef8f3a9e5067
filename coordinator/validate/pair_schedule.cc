#include "coordinator/validate/pair_schedule.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace sparkfleet {
namespace {

// The circle method: position 0 stays, the others rotate; round r pairs position i
// with position m - 1 - i. A node paired with the extra slot (odd n) rests.
std::vector<NodePair> RoundRobin(int node_count) {
  const int m = node_count + (node_count % 2);
  std::vector<int> slots(m);
  std::iota(slots.begin(), slots.end(), 0);
  std::vector<std::vector<NodePair>> rounds;
  for (int r = 0; r < m - 1; ++r) {
    std::vector<NodePair> round;
    for (int i = 0; i < m / 2; ++i) {
      int a = slots[i], b = slots[m - 1 - i];
      if (a < node_count && b < node_count) round.push_back({std::min(a, b), std::max(a, b)});
    }
    rounds.push_back(std::move(round));
    std::rotate(slots.begin() + 1, slots.end() - 1, slots.end());
  }
  std::vector<NodePair> pairs;
  for (const auto& round : rounds) pairs.insert(pairs.end(), round.begin(), round.end());
  for (const auto& round : rounds) {
    for (const NodePair& p : round) pairs.push_back({p.to, p.from});
  }
  return pairs;
}

}  // namespace

std::vector<NodePair> SelectPairs(int node_count, v1::PairSelection selection, int sample_k,
                                  uint64_t seed) {
  if (node_count < 2) return {};
  switch (selection) {
    case v1::PAIR_SELECTION_RING: {
      std::vector<NodePair> pairs;
      for (int i = 0; i < node_count; ++i) pairs.push_back({i, (i + 1) % node_count});
      return pairs;
    }
    case v1::PAIR_SELECTION_SAMPLE: {
      int k = std::clamp(sample_k, 1, node_count - 1);
      if (k == node_count - 1) return RoundRobin(node_count);
      std::mt19937_64 random(seed);
      std::vector<NodePair> pairs;
      for (int from = 0; from < node_count; ++from) {
        std::vector<int> others;
        for (int to = 0; to < node_count; ++to) {
          if (to != from) others.push_back(to);
        }
        std::shuffle(others.begin(), others.end(), random);
        others.resize(k);
        std::sort(others.begin(), others.end());
        for (int to : others) pairs.push_back({from, to});
      }
      return pairs;
    }
    default:
      return RoundRobin(node_count);
  }
}

std::vector<std::vector<NodePair>> ScheduleRounds(const std::vector<NodePair>& pairs,
                                                  int node_count) {
  std::vector<std::vector<NodePair>> rounds;
  std::vector<std::vector<bool>> busy;  // busy[round][node]
  for (const NodePair& pair : pairs) {
    size_t r = 0;
    while (r < rounds.size() && (busy[r][pair.from] || busy[r][pair.to])) ++r;
    if (r == rounds.size()) {
      rounds.emplace_back();
      busy.emplace_back(node_count, false);
    }
    rounds[r].push_back(pair);
    busy[r][pair.from] = busy[r][pair.to] = true;
  }
  return rounds;
}

}  // namespace sparkfleet
