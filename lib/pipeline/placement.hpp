// Placement: which stages run on which lcore, for every lane. Stages on the
// same lcore are called one after the other on a burst; consecutive groups on
// different lcores are joined by an SP/SC rte_ring.
#pragma once

#include <string>
#include <vector>

namespace dpdk_app {

struct placement {
    std::vector<std::vector<std::string>> groups;    // contiguous cut of the stage chain
    std::vector<std::vector<unsigned>> lane_lcores;  // [lane][group] -> lcore id
    std::vector<std::string> warnings;
    std::string error;  // non-empty when no placement is possible
};

// chain: the mode's stages, RX first and TX last.
// explicit_groups: from pipeline.placement (already checked against chain), or empty.
// lcores_per_lane: from pipeline.lcores_per_lane, 0 = auto.
// workers: the worker lcore ids EAL gave, in order. With no worker at all the
// main lcore runs the whole chain of the single lane.
placement place_stages(const std::vector<std::string>& chain,
                       const std::vector<std::vector<std::string>>& explicit_groups,
                       unsigned lcores_per_lane, unsigned lanes,
                       const std::vector<unsigned>& workers, unsigned main_lcore);

// Splits chain into k contiguous groups: RX alone first, TX alone last when
// k >= 3, the stages between spread evenly over the rest.
std::vector<std::vector<std::string>> split_chain(const std::vector<std::string>& chain,
                                                  unsigned k);

}  // namespace dpdk_app
