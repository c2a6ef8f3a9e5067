#include "coordinator/validate/pair_schedule.h"

#include <set>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

// Every node in at most one pair of each round.
void ExpectNoNodeTwicePerRound(const std::vector<std::vector<NodePair>>& rounds) {
  for (size_t r = 0; r < rounds.size(); ++r) {
    std::set<int> seen;
    for (const NodePair& pair : rounds[r]) {
      EXPECT_TRUE(seen.insert(pair.from).second) << "node " << pair.from << " twice in round " << r;
      EXPECT_TRUE(seen.insert(pair.to).second) << "node " << pair.to << " twice in round " << r;
    }
  }
}

std::multiset<std::pair<int, int>> Flatten(const std::vector<std::vector<NodePair>>& rounds) {
  std::multiset<std::pair<int, int>> out;
  for (const auto& round : rounds) {
    for (const NodePair& p : round) out.insert({p.from, p.to});
  }
  return out;
}

TEST(PairSchedule, AllPairsCoverEveryOrderedPairExactlyOnceInOptimalRounds) {
  for (int n = 2; n <= 17; ++n) {
    std::vector<NodePair> pairs = SelectPairs(n, v1::PAIR_SELECTION_ALL, 0, 0);
    std::vector<std::vector<NodePair>> rounds = ScheduleRounds(pairs, n);
    std::multiset<std::pair<int, int>> expected;
    for (int a = 0; a < n; ++a) {
      for (int b = 0; b < n; ++b) {
        if (a != b) expected.insert({a, b});
      }
    }
    EXPECT_EQ(Flatten(rounds), expected) << n << " nodes";
    ExpectNoNodeTwicePerRound(rounds);
    EXPECT_EQ(rounds.size(), static_cast<size_t>(n % 2 == 0 ? 2 * (n - 1) : 2 * n)) << n;
    for (const auto& round : rounds) EXPECT_EQ(round.size(), static_cast<size_t>(n / 2)) << n;
  }
}

TEST(PairSchedule, UnspecifiedMeansAll) {
  EXPECT_EQ(SelectPairs(5, v1::PAIR_SELECTION_UNSPECIFIED, 0, 0),
            SelectPairs(5, v1::PAIR_SELECTION_ALL, 0, 0));
}

TEST(PairSchedule, RingIsEachNodeToTheNextAndTheLastToTheFirst) {
  std::vector<NodePair> ring = SelectPairs(4, v1::PAIR_SELECTION_RING, 0, 0);
  EXPECT_EQ(ring, (std::vector<NodePair>{{0, 1}, {1, 2}, {2, 3}, {3, 0}}));
  EXPECT_EQ(SelectPairs(2, v1::PAIR_SELECTION_RING, 0, 0), (std::vector<NodePair>{{0, 1}, {1, 0}}));
  for (int n : {3, 5, 8}) {
    std::vector<std::vector<NodePair>> rounds =
        ScheduleRounds(SelectPairs(n, v1::PAIR_SELECTION_RING, 0, 0), n);
    ExpectNoNodeTwicePerRound(rounds);
    EXPECT_LE(rounds.size(), 3u) << n;
    EXPECT_EQ(Flatten(rounds).size(), static_cast<size_t>(n));
  }
}

TEST(PairSchedule, SampleGivesKDistinctOtherTargetsPerNodeReproducibly) {
  const int n = 20, k = 3;
  std::vector<NodePair> pairs = SelectPairs(n, v1::PAIR_SELECTION_SAMPLE, k, 42);
  EXPECT_EQ(pairs.size(), static_cast<size_t>(n * k));
  std::set<std::pair<int, int>> unique;
  std::vector<int> per_source(n, 0);
  for (const NodePair& p : pairs) {
    EXPECT_NE(p.from, p.to);
    unique.insert({p.from, p.to});
    ++per_source[p.from];
  }
  EXPECT_EQ(unique.size(), pairs.size());
  for (int count : per_source) EXPECT_EQ(count, k);
  EXPECT_EQ(pairs, SelectPairs(n, v1::PAIR_SELECTION_SAMPLE, k, 42));
  ExpectNoNodeTwicePerRound(ScheduleRounds(pairs, n));
}

TEST(PairSchedule, SampleOfEveryOtherNodeIsAllPairs) {
  EXPECT_EQ(SelectPairs(4, v1::PAIR_SELECTION_SAMPLE, 9, 1).size(), 12u);
}

TEST(PairSchedule, FewerThanTwoNodesHaveNoPairs) {
  EXPECT_TRUE(SelectPairs(1, v1::PAIR_SELECTION_ALL, 0, 0).empty());
  EXPECT_TRUE(SelectPairs(0, v1::PAIR_SELECTION_RING, 0, 0).empty());
  EXPECT_TRUE(ScheduleRounds({}, 0).empty());
}

}  // namespace
}  // namespace sparkfleet
