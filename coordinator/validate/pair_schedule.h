// Which node pairs `sparkctl validate` tests, and in which rounds.
//
// Pairs are ordered (from -> to: the sender of a bandwidth test, the node that pings).
// Bandwidth tests run in rounds in which no node takes part in two tests, so every
// figure is one link's, not a share of it; a round's tests run at the same time.
// All pairs follow the round-robin (circle) method: n - 1 rounds of disjoint pairs for
// even n (n with one node resting for odd n), each pair once in each direction, for
// 2(n - 1) rounds (2n for odd n) of n / 2 tests each. Pure.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_PAIR_SCHEDULE_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_PAIR_SCHEDULE_H_

#include <cstdint>
#include <vector>

#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// Indexes into the node list (cluster.yaml order).
struct NodePair {
  int from = 0;
  int to = 0;
  bool operator==(const NodePair& other) const { return from == other.from && to == other.to; }
};

// The ordered pairs to test among `node_count` nodes:
//  ALL (and UNSPECIFIED): every ordered pair, in round-robin order;
//  RING: each node to the next, the last to the first (one pair, both ways, for 2 nodes);
//  SAMPLE: `sample_k` distinct targets per node, drawn with `seed` (every other node
//  when sample_k >= node_count - 1; 0 is taken as 1).
std::vector<NodePair> SelectPairs(int node_count, v1::PairSelection selection, int sample_k,
                                  uint64_t seed);

// Splits `pairs` into rounds in which no node appears twice, keeping each pair's order
// and placing it in the first round where both its nodes are free. For the round-robin
// order of SelectPairs(ALL) this gives the optimal 2(n - 1) (even n) or 2n (odd n)
// rounds.
std::vector<std::vector<NodePair>> ScheduleRounds(const std::vector<NodePair>& pairs,
                                                  int node_count);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_PAIR_SCHEDULE_H_
