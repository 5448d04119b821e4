// The queues between the lanes and the control thread, and the neighbour
// table they share:
//  - punt (per lane, lane -> control): packets whose next hop is unresolved;
//    the control thread holds them while it resolves (responder.hold_per_neighbor);
//  - learn (per lane, lane -> control): ARP / NDP sender addresses to learn,
//    as fixed-size messages, so the reply can reuse the request's mbuf;
//  - inject (per lane, control -> the lane's TX): ARP requests, neighbour
//    solicitations, gratuitous ARP and released held packets.
// Every ring has one producer and one consumer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ring.h>

#include "pipeline/counters.hpp"
#include "route/neighbor.hpp"

namespace dpdk_app {

struct learn_message {
    uint8_t v6 = 0;
    uint8_t port = 0;
    uint8_t targeted = 0;  // addressed to one of our addresses: may create an entry
    uint8_t pad0 = 0;
    uint8_t mac[6] = {};
    uint8_t pad1[6] = {};
    uint8_t address[16] = {};  // IPv4 in the first 4 bytes, network order
};
static_assert(sizeof(learn_message) == 32, "ring element size");

class slow_path {
  public:
    static constexpr uint32_t punt_ring_size = 1024;
    static constexpr uint32_t learn_ring_size = 512;
    static constexpr uint32_t inject_ring_size = 1024;

    static std::unique_ptr<slow_path> create(unsigned lanes, uint32_t neighbor_max,
                                             std::string& error);
    ~slow_path();
    slow_path(const slow_path&) = delete;
    slow_path& operator=(const slow_path&) = delete;

    unsigned lanes() const noexcept { return static_cast<unsigned>(punt_.size()); }
    rte_ring* punt(unsigned lane) const noexcept { return punt_[lane]; }
    rte_ring* learn(unsigned lane) const noexcept { return learn_[lane]; }
    rte_ring* inject(unsigned lane) const noexcept { return inject_[lane]; }
    neighbor_table& neighbors() noexcept { return *neighbors_; }
    const neighbor_table& neighbors() const noexcept { return *neighbors_; }
    // Written by the control thread only.
    segment_counters& counters() noexcept { return *counters_; }
    const segment_counters& counters() const noexcept { return *counters_; }
    // Packets in the punt and inject rings now.
    uint64_t queued() const noexcept;

  private:
    slow_path() = default;
    std::vector<rte_ring*> punt_;
    std::vector<rte_ring*> learn_;
    std::vector<rte_ring*> inject_;
    std::unique_ptr<neighbor_table> neighbors_;
    std::unique_ptr<segment_counters> counters_;
};

}  // namespace dpdk_app
