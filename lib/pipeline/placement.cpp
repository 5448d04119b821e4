#include "pipeline/placement.hpp"

#include <algorithm>

namespace dpdk_app {

std::vector<std::vector<std::string>> split_chain(const std::vector<std::string>& chain,
                                                  unsigned k) {
    const auto m = static_cast<unsigned>(chain.size());
    k = std::clamp(k, 1u, m);
    if (k == 1) {
        return {chain};
    }
    std::vector<std::vector<std::string>> groups;
    groups.push_back({chain.front()});
    if (k == 2) {
        groups.emplace_back(chain.begin() + 1, chain.end());
        return groups;
    }
    const unsigned middle = m - 2;
    const unsigned middle_groups = k - 2;
    unsigned next = 1;
    for (unsigned g = 0; g < middle_groups; ++g) {
        const unsigned size = middle / middle_groups + (g < middle % middle_groups ? 1 : 0);
        groups.emplace_back(chain.begin() + next, chain.begin() + next + size);
        next += size;
    }
    groups.push_back({chain.back()});
    return groups;
}

placement place_stages(const std::vector<std::string>& chain,
                       const std::vector<std::vector<std::string>>& explicit_groups,
                       unsigned lcores_per_lane, unsigned lanes,
                       const std::vector<unsigned>& workers, unsigned main_lcore) {
    placement p;
    const auto w = static_cast<unsigned>(workers.size());
    if (w == 0) {
        if (lanes != 1) {
            p.error = "dataplane.lanes = " + std::to_string(lanes) +
                      " needs at least one worker lcore per lane, but EAL gave only the main "
                      "lcore (use -l 0-" +
                      std::to_string(lanes) + " or --lcores)";
            return p;
        }
        if (!explicit_groups.empty() && explicit_groups.size() > 1) {
            p.warnings.push_back("pipeline.placement asks for " +
                                 std::to_string(explicit_groups.size()) +
                                 " lcores but only the main lcore is available: the whole "
                                 "chain runs there");
        }
        p.groups = {chain};
        p.lane_lcores = {{main_lcore}};
        return p;
    }
    if (w < lanes) {
        p.error = "dataplane.lanes = " + std::to_string(lanes) + " needs at least " +
                  std::to_string(lanes) + " worker lcores, EAL gave " + std::to_string(w);
        return p;
    }
    unsigned k;
    if (!explicit_groups.empty()) {
        k = static_cast<unsigned>(explicit_groups.size());
        p.groups = explicit_groups;
    } else {
        k = lcores_per_lane != 0 ? lcores_per_lane : w / lanes;
        k = std::min<unsigned>(k, static_cast<unsigned>(chain.size()));
        p.groups = split_chain(chain, k);
    }
    if (k * lanes > w) {
        p.error = "the placement needs " + std::to_string(k) + " lcores per lane x " +
                  std::to_string(lanes) + " lanes = " + std::to_string(k * lanes) +
                  " worker lcores, EAL gave " + std::to_string(w);
        return p;
    }
    if (k * lanes < w) {
        p.warnings.push_back(
            std::to_string(w - k * lanes) + " worker lcore(s) stay idle: the chain has " +
            std::to_string(chain.size()) + " stages and " + std::to_string(lanes) + " lane(s)");
    }
    unsigned next = 0;
    for (unsigned lane = 0; lane < lanes; ++lane) {
        std::vector<unsigned> ids;
        for (unsigned g = 0; g < k; ++g) {
            ids.push_back(workers[next++]);
        }
        p.lane_lcores.push_back(std::move(ids));
    }
    return p;
}

}  // namespace dpdk_app
