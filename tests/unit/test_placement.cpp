// split_chain() and place_stages(): which stages run on which lcore.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/placement.hpp"

namespace dpdk_app {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using groups_t = std::vector<std::vector<std::string>>;

const std::vector<std::string> chain3 = {"rx", "bridge", "tx"};
const std::vector<std::string> chain6 = {"rx", "a", "b", "c", "d", "tx"};

TEST(split_chain, three_stages) {
    EXPECT_EQ(split_chain(chain3, 1), (groups_t{{"rx", "bridge", "tx"}}));
    EXPECT_EQ(split_chain(chain3, 2), (groups_t{{"rx"}, {"bridge", "tx"}}));
    EXPECT_EQ(split_chain(chain3, 3), (groups_t{{"rx"}, {"bridge"}, {"tx"}}));
}

TEST(split_chain, three_stages_k_above_chain_size_is_capped) {
    EXPECT_EQ(split_chain(chain3, 4), (groups_t{{"rx"}, {"bridge"}, {"tx"}}));
    EXPECT_EQ(split_chain(chain3, 100), (groups_t{{"rx"}, {"bridge"}, {"tx"}}));
}

TEST(split_chain, k_zero_is_one_group) {
    EXPECT_EQ(split_chain(chain3, 0), (groups_t{{"rx", "bridge", "tx"}}));
}

TEST(split_chain, six_stages) {
    EXPECT_EQ(split_chain(chain6, 1), (groups_t{{"rx", "a", "b", "c", "d", "tx"}}));
    EXPECT_EQ(split_chain(chain6, 2), (groups_t{{"rx"}, {"a", "b", "c", "d", "tx"}}));
    EXPECT_EQ(split_chain(chain6, 3), (groups_t{{"rx"}, {"a", "b", "c", "d"}, {"tx"}}));
    EXPECT_EQ(split_chain(chain6, 4), (groups_t{{"rx"}, {"a", "b"}, {"c", "d"}, {"tx"}}));
    // 4 middle stages over 3 groups: the first group takes the remainder.
    EXPECT_EQ(split_chain(chain6, 5), (groups_t{{"rx"}, {"a", "b"}, {"c"}, {"d"}, {"tx"}}));
    EXPECT_EQ(split_chain(chain6, 6), (groups_t{{"rx"}, {"a"}, {"b"}, {"c"}, {"d"}, {"tx"}}));
}

TEST(split_chain, six_stages_k_above_chain_size_is_capped) {
    EXPECT_EQ(split_chain(chain6, 7), (groups_t{{"rx"}, {"a"}, {"b"}, {"c"}, {"d"}, {"tx"}}));
}

TEST(split_chain, groups_always_concatenate_back_to_the_chain) {
    const std::vector<std::string> chain7 = {"rx", "a", "b", "c", "d", "e", "tx"};
    for (unsigned k = 1; k <= 7; ++k) {
        const groups_t g = split_chain(chain7, k);
        ASSERT_EQ(g.size(), k);
        std::vector<std::string> flat;
        for (const auto& group : g) {
            EXPECT_FALSE(group.empty()) << "k=" << k;
            flat.insert(flat.end(), group.begin(), group.end());
        }
        EXPECT_EQ(flat, chain7) << "k=" << k;
        if (k >= 3) {
            EXPECT_EQ(g.front(), std::vector<std::string>{"rx"}) << "k=" << k;
            EXPECT_EQ(g.back(), std::vector<std::string>{"tx"}) << "k=" << k;
        }
    }
}

TEST(place_stages, no_worker_runs_the_whole_chain_on_the_main_lcore) {
    const placement p = place_stages(chain3, {}, 0, 1, {}, 5);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, (groups_t{{"rx", "bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{5}}));
}

TEST(place_stages, no_worker_ignores_lcores_per_lane) {
    const placement p = place_stages(chain3, {}, 3, 1, {}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, (groups_t{{"rx", "bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{0}}));
}

TEST(place_stages, no_worker_with_explicit_groups_warns_and_runs_on_main) {
    const placement p = place_stages(chain3, {{"rx"}, {"bridge"}, {"tx"}}, 0, 1, {}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings,
                ElementsAre("pipeline.placement asks for 3 lcores but only the main lcore is "
                            "available: the whole chain runs there"));
    EXPECT_EQ(p.groups, (groups_t{{"rx", "bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{0}}));
}

TEST(place_stages, no_worker_with_one_explicit_group_does_not_warn) {
    const placement p = place_stages(chain3, {{"rx", "bridge", "tx"}}, 0, 1, {}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
}

TEST(place_stages, no_worker_and_several_lanes_is_an_error) {
    const placement p = place_stages(chain3, {}, 0, 2, {}, 0);
    EXPECT_EQ(p.error,
              "dataplane.lanes = 2 needs at least one worker lcore per lane, but EAL gave only "
              "the main lcore (use -l 0-2 or --lcores)");
    EXPECT_THAT(p.lane_lcores, IsEmpty());
}

TEST(place_stages, fewer_workers_than_lanes_is_an_error) {
    const placement p = place_stages(chain3, {}, 0, 3, {1, 2}, 0);
    EXPECT_EQ(p.error, "dataplane.lanes = 3 needs at least 3 worker lcores, EAL gave 2");
    EXPECT_THAT(p.lane_lcores, IsEmpty());
}

TEST(place_stages, auto_one_worker_per_lane_runs_the_whole_chain) {
    const placement p = place_stages(chain3, {}, 0, 1, {1}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, (groups_t{{"rx", "bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1}}));
}

TEST(place_stages, auto_splits_workers_evenly_over_lanes) {
    const placement p = place_stages(chain3, {}, 0, 2, {2, 3, 4, 5}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, (groups_t{{"rx"}, {"bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{2, 3}, {4, 5}}));
}

TEST(place_stages, auto_is_capped_by_the_chain_length_and_warns_about_idle_workers) {
    const placement p = place_stages(chain3, {}, 0, 1, {1, 2, 3, 4, 5}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.groups, (groups_t{{"rx"}, {"bridge"}, {"tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1, 2, 3}}));
    EXPECT_THAT(p.warnings, ElementsAre("2 worker lcore(s) stay idle: the chain has 3 stages "
                                        "and 1 lane(s)"));
}

TEST(place_stages, auto_with_a_remainder_warns) {
    const placement p = place_stages(chain3, {}, 0, 2, {1, 2, 3}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.groups, (groups_t{{"rx", "bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1}, {2}}));
    EXPECT_THAT(p.warnings, ElementsAre("1 worker lcore(s) stay idle: the chain has 3 stages "
                                        "and 2 lane(s)"));
}

TEST(place_stages, auto_on_a_long_chain_uses_every_worker) {
    const placement p = place_stages(chain6, {}, 0, 1, {1, 2, 3, 4}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, (groups_t{{"rx"}, {"a", "b"}, {"c", "d"}, {"tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1, 2, 3, 4}}));
}

TEST(place_stages, lcores_per_lane_sets_k) {
    const placement p = place_stages(chain3, {}, 2, 1, {1, 2, 3, 4}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.groups, (groups_t{{"rx"}, {"bridge", "tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1, 2}}));
    EXPECT_THAT(p.warnings, ElementsAre("2 worker lcore(s) stay idle: the chain has 3 stages "
                                        "and 1 lane(s)"));
}

TEST(place_stages, lcores_per_lane_above_chain_length_is_capped) {
    const placement p = place_stages(chain3, {}, 10, 1, {1, 2, 3}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, (groups_t{{"rx"}, {"bridge"}, {"tx"}}));
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1, 2, 3}}));
}

TEST(place_stages, lcores_per_lane_needing_more_workers_is_an_error) {
    const placement p = place_stages(chain3, {}, 3, 2, {1, 2, 3, 4}, 0);
    EXPECT_EQ(p.error,
              "the placement needs 3 lcores per lane x 2 lanes = 6 worker lcores, EAL gave 4");
    EXPECT_THAT(p.lane_lcores, IsEmpty());
}

TEST(place_stages, explicit_groups_are_used_as_given) {
    const groups_t explicit_groups = {{"rx", "bridge"}, {"tx"}};
    const placement p = place_stages(chain3, explicit_groups, 0, 2, {1, 2, 3, 4}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.groups, explicit_groups);
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1, 2}, {3, 4}}));
}

TEST(place_stages, explicit_groups_override_lcores_per_lane) {
    const groups_t explicit_groups = {{"rx"}, {"bridge"}, {"tx"}};
    const placement p = place_stages(chain3, explicit_groups, 1, 1, {1, 2, 3}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.groups, explicit_groups);
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1, 2, 3}}));
}

TEST(place_stages, explicit_groups_with_spare_workers_warn) {
    const placement p = place_stages(chain3, {{"rx", "bridge", "tx"}}, 0, 1, {1, 2}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{1}}));
    EXPECT_THAT(p.warnings, ElementsAre("1 worker lcore(s) stay idle: the chain has 3 stages "
                                        "and 1 lane(s)"));
}

TEST(place_stages, explicit_groups_needing_more_lcores_than_available_is_an_error) {
    const placement p = place_stages(chain3, {{"rx"}, {"bridge"}, {"tx"}}, 0, 2, {1, 2, 3, 4}, 0);
    EXPECT_EQ(p.error,
              "the placement needs 3 lcores per lane x 2 lanes = 6 worker lcores, EAL gave 4");
    EXPECT_THAT(p.lane_lcores, IsEmpty());
}

TEST(place_stages, lane_lcores_follow_the_eal_worker_order) {
    const placement p = place_stages(chain3, {}, 3, 2, {7, 3, 5, 9, 11, 13}, 0);
    EXPECT_EQ(p.error, "");
    EXPECT_THAT(p.warnings, IsEmpty());
    EXPECT_EQ(p.lane_lcores, (std::vector<std::vector<unsigned>>{{7, 3, 5}, {9, 11, 13}}));
    // Every worker is used once.
    EXPECT_EQ(p.groups.size(), 3u);
}

}  // namespace
}  // namespace dpdk_app
