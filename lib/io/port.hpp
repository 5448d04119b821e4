// Ports: resolving configured ports against what EAL found, sizing the
// mbuf pool, and bringing ports up with one RX and one TX queue per lane.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rte_mempool.h>

#include "config/config.hpp"
#include "io/port_id.hpp"

namespace dpdk_app {

struct port_plan {
    uint16_t port_id = no_port;
    std::string name;
    uint16_t peer = no_port;  // bridge egress for frames received here
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    bool promiscuous = true;
};

// Inputs of the mbuf pool size (docs/configuration.md, "Mempool sizing").
struct mempool_sizing {
    uint32_t ports = 0;
    uint32_t lanes = 1;
    uint32_t rx_desc_total = 0;  // sum over ports of rx_desc
    uint32_t tx_desc_total = 0;  // sum over ports of tx_desc
    uint32_t rings = 0;          // inter-lcore rings over all lanes
    uint32_t ring_size = 0;
    uint32_t lcores = 1;  // lcores that touch the pool (workers + main)
    uint32_t cache_size = 256;
    uint32_t burst_size = 64;
};

// mbufs = lanes * (sum rx_desc + sum tx_desc) + rings * ring_size
//       + lcores * (ceil(1.5 * cache_size) + 4 * burst_size) + 1024,
// rounded up to 2^n - 1 (the mempool's most efficient size).
uint32_t mbufs_needed(const mempool_sizing& s);

// Matches configured ports to EAL ports and fills in bridge peers. With no
// [[port]] tables every available port is used, paired in order (0<->1,
// 2<->3, ...) with a last odd one bridged to itself. Returns an empty vector
// and sets `error` when a configured port is not there.
std::vector<port_plan> resolve_ports(const app_config& config, std::string& error);

// Configures `lanes` RX and TX queues, sets up descriptors (clamped to what
// the device allows), starts the port and sets promiscuous mode. Returns an
// empty string on success, else the reason.
//
// symmetric: both directions of a connection must reach the same lane
// (connection tracking with lanes > 1). RSS then gets the symmetric
// Toeplitz key (0x6d5a repeated: the hash of (a, b) equals that of (b, a));
// net_tap needs nothing (the kernel picks a tap queue by a symmetric flow
// hash). A port that can do neither is refused with the reason.
std::string start_port(port_plan& port, uint16_t lanes, rte_mempool* pool,
                       bool symmetric = false);

void stop_and_close_port(uint16_t port_id);

// A pktmbuf pool. On hugepages it is rte_pktmbuf_pool_create's. Without
// hugepages (--no-huge, IOVA as VA) mbufs are packed back to back
// (RTE_MEMPOOL_F_NO_IOVA_CONTIG): the default would start each mbuf on its
// own 4 KiB page, putting every mbuf header in the same L1 cache sets, which
// costs up to half the forwarding rate. Returns nullptr with rte_errno set.
rte_mempool* create_mbuf_pool(const char* name, unsigned n, unsigned cache_size, uint16_t priv_size,
                              uint16_t data_room, int socket);

}  // namespace dpdk_app
