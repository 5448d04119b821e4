// The control thread's half of neighbour resolution (router mode) and the
// start-up announcements (both modes). It is the neighbour table's only
// writer. Driven by poll() from the control loop:
//  - learn messages from the lanes create or refresh entries (RFC 826: an
//    entry is created only from ARP / NDP addressed to the appliance, and
//    refreshed from any);
//  - packets punted for an unresolved next hop are held, at most
//    hold_per_neighbor per neighbour (more are dropped as
//    neighbor_queue_full), while ARP requests / neighbour solicitations go
//    out every retry_ms, doubling, up to `retries` times; a neighbour that
//    never answers becomes failed, its held packets are dropped
//    (neighbor_unresolved) and new ones are dropped for failed_hold_ms;
//  - entries confirmed longer than timeout_s ago become stale: still used,
//    re-checked with unicast requests, failed if those go unanswered.
// Requests are built in mbufs of the small control pool, never the RX pool,
// and leave through the lanes' TX via the inject rings.
#pragma once

#include <cstdint>
#include <vector>

#include <rte_mempool.h>

#include "pipeline/generation.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"

namespace dpdk_app {

struct resolver_settings {
    uint32_t hold_per_neighbor = 4;
    uint32_t retries = 3;
    uint32_t retry_ms = 200;
    uint32_t timeout_s = 300;
    uint32_t failed_hold_ms = 1000;
};

class resolver {
  public:
    // generations: where the current fib is (ports, addresses, routes).
    resolver(slow_path& sp, const generation_store& generations, rte_mempool* pool,
             const resolver_settings& settings, uint64_t tsc_hz);
    ~resolver();
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    // Gratuitous ARP for every IPv4 address of every port.
    void announce();
    // One round of slow-path work; now is the TSC.
    void poll(uint64_t now);
    // After the lanes stopped: drops what is held or still queued (counted).
    void shutdown();

  private:
    struct entry_state {
        std::vector<std::pair<rte_mbuf*, unsigned>> held;  // packet, lane
        uint64_t confirmed = 0;
        uint64_t next_probe = 0;
        uint64_t failed_at = 0;
        uint32_t probes = 0;
        bool probing = false;
    };

    void learn(const learn_message& msg, uint64_t now);
    void hold(rte_mbuf* m, unsigned lane, uint64_t now);
    void probe(uint32_t slot, entry_state& st, bool unicast);
    void release(uint32_t slot, entry_state& st);
    void fail(uint32_t slot, entry_state& st, uint64_t now);
    void timers(uint64_t now);
    bool inject(rte_mbuf* m, unsigned lane);
    void drop(rte_mbuf* m, drop_reason why);
    entry_state& state_of(uint32_t slot);

    slow_path& sp_;
    neighbor_table& nt_;
    const generation_store& generations_;
    // The current generation's fib, or nullptr.
    const fib* current_fib() const noexcept;
    rte_mempool* pool_;
    resolver_settings settings_;
    uint64_t hz_;
    uint64_t next_timers_ = 0;
    std::vector<entry_state> states_;
};

}  // namespace dpdk_app
