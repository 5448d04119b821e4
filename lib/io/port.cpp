#include "io/port.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

namespace dpdk_app {

uint32_t mbufs_needed(const mempool_sizing& s) {
    uint64_t n = static_cast<uint64_t>(s.lanes) * (s.rx_desc_total + s.tx_desc_total) +
                 static_cast<uint64_t>(s.rings) * s.ring_size +
                 static_cast<uint64_t>(s.lcores) * ((s.cache_size * 3 + 1) / 2 + 4 * s.burst_size) +
                 1024;
    uint64_t pow2 = 1;
    while (pow2 - 1 < n) {
        pow2 <<= 1;
    }
    return static_cast<uint32_t>(pow2 - 1);
}

std::vector<port_plan> resolve_ports(const app_config& config, std::string& error) {
    std::vector<port_plan> plans;
    if (config.ports.empty()) {
        uint16_t id;
        RTE_ETH_FOREACH_DEV(id) {
            port_plan p;
            p.port_id = id;
            char name[RTE_ETH_NAME_MAX_LEN];
            if (rte_eth_dev_get_name_by_port(id, name) == 0) {
                p.name = name;
            }
            plans.push_back(p);
        }
        for (std::size_t i = 0; i < plans.size(); i += 2) {
            if (i + 1 < plans.size()) {
                plans[i].peer = plans[i + 1].port_id;
                plans[i + 1].peer = plans[i].port_id;
            } else {
                plans[i].peer = plans[i].port_id;
            }
        }
        return plans;
    }
    for (const auto& pc : config.ports) {
        port_plan p;
        p.name = pc.name;
        p.rx_desc = pc.rx_desc;
        p.tx_desc = pc.tx_desc;
        p.promiscuous = pc.promiscuous;
        if (rte_eth_dev_get_port_by_name(pc.name.c_str(), &p.port_id) != 0) {
            std::string available;
            uint16_t id;
            RTE_ETH_FOREACH_DEV(id) {
                char name[RTE_ETH_NAME_MAX_LEN];
                if (rte_eth_dev_get_name_by_port(id, name) == 0) {
                    available += (available.empty() ? "" : ", ") + std::string(name);
                }
            }
            error =
                config.source + ":" + std::to_string(pc.where.line) + ":" +
                std::to_string(pc.where.column) + ": port '" + pc.name +
                "' was not found by EAL (available: " + (available.empty() ? "none" : available) +
                ")";
            return {};
        }
        plans.push_back(p);
    }
    for (std::size_t i = 0; i < plans.size(); ++i) {
        const auto& peer = config.ports[i].peer;
        if (!peer) {
            std::size_t j = i % 2 == 0 ? i + 1 : i - 1;
            plans[i].peer = j < plans.size() ? plans[j].port_id : plans[i].port_id;
            continue;
        }
        for (const auto& q : plans) {
            if (q.name == *peer) {
                plans[i].peer = q.port_id;
            }
        }
    }
    return plans;
}

namespace {

// L2 bytes on top of the MTU, reckoned the way ethdev validates an MTU.
uint32_t l2_overhead(const rte_eth_dev_info& info) {
    if (info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu) {
        return info.max_rx_pktlen - info.max_mtu;
    }
    return RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
}

// The largest MTU the device takes, at most 9000 (jumbo frames).
uint32_t jumbo_mtu(const rte_eth_dev_info& info) {
    const uint32_t overhead = l2_overhead(info);
    const uint32_t by_frame = info.max_rx_pktlen > overhead ? info.max_rx_pktlen - overhead : 0;
    return std::min<uint32_t>({9000, info.max_mtu, by_frame});
}

}  // namespace

std::string start_port(port_plan& port, uint16_t lanes, rte_mempool* pool, bool symmetric) {
    const std::string who = "port " + std::to_string(port.port_id) + " (" + port.name + "): ";
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port.port_id, &info); rc != 0) {
        return who + "cannot read device info: " + std::strerror(-rc);
    }
    if (lanes > info.max_rx_queues || lanes > info.max_tx_queues) {
        return who + "dataplane.lanes = " + std::to_string(lanes) + " but the device has " +
               std::to_string(info.max_rx_queues) + " RX and " +
               std::to_string(info.max_tx_queues) + " TX queues";
    }
    rte_eth_conf conf{};
    // The symmetric Toeplitz key: a 16-bit pattern repeated, so that
    // swapping source and destination (address and port) keeps the hash.
    std::array<uint8_t, 64> symmetric_key{};
    for (std::size_t i = 0; i < symmetric_key.size(); i += 2) {
        symmetric_key[i] = 0x6d;
        symmetric_key[i + 1] = 0x5a;
    }
    const bool kernel_symmetric = std::string_view(info.driver_name) == "net_tap";
    if (lanes > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
        if (symmetric && info.hash_key_size > 0 && info.hash_key_size <= symmetric_key.size()) {
            conf.rx_adv_conf.rss_conf.rss_key = symmetric_key.data();
            conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
        }
    }
    if (symmetric && lanes > 1 && !kernel_symmetric &&
        conf.rx_adv_conf.rss_conf.rss_key == nullptr) {
        return who + "connection tracking with dataplane.lanes = " + std::to_string(lanes) +
               " needs both directions of a connection on one lane, and driver " +
               info.driver_name +
               " has no RSS key to make symmetric: use dataplane.lanes = 1 for this port set, "
               "or a NIC / VF whose RSS key can be set";
    }
    if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }
    // Jumbo frames, up to a 9000-byte MTU. A frame larger than an mbuf's data
    // room arrives as a chain of mbufs (scattered RX; the parse stage reads
    // headers across segments) and leaves as one (multi-segment TX): where
    // the device cannot do both, the MTU stays at what one mbuf holds.
    if (const uint32_t mtu = jumbo_mtu(info); mtu > RTE_ETHER_MTU) {
        const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
        if (mtu + l2_overhead(info) <= room) {
            conf.rxmode.mtu = mtu;
        } else if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) != 0 &&
                   (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0) {
            conf.rxmode.mtu = mtu;
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        }
    }
    if (int rc = rte_eth_dev_configure(port.port_id, lanes, lanes, &conf); rc != 0) {
        return who + "configure failed: " + std::strerror(-rc);
    }
    uint16_t rx_desc = port.rx_desc;
    uint16_t tx_desc = port.tx_desc;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &rx_desc, &tx_desc); rc != 0) {
        return who + "descriptor counts rejected: " + std::strerror(-rc);
    }
    port.rx_desc = rx_desc;
    port.tx_desc = tx_desc;
    const int socket = rte_eth_dev_socket_id(port.port_id);
    const unsigned sock = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < lanes; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port.port_id, q, rx_desc, sock, nullptr, pool);
            rc != 0) {
            return who + "RX queue " + std::to_string(q) + " setup failed: " + std::strerror(-rc);
        }
        rte_eth_txconf txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(port.port_id, q, tx_desc, sock, &txconf); rc != 0) {
            return who + "TX queue " + std::to_string(q) + " setup failed: " + std::strerror(-rc);
        }
    }
    if (int rc = rte_eth_dev_start(port.port_id); rc != 0) {
        return who + "start failed: " + std::strerror(-rc);
    }
    if (port.promiscuous) {
        // Not every driver has a promiscuous mode (net_pcap on files does not
        // need one); a failure here is not fatal.
        rte_eth_promiscuous_enable(port.port_id);
    }
    return {};
}

rte_mempool* create_mbuf_pool(const char* name, unsigned n, unsigned cache_size, uint16_t priv_size,
                              uint16_t data_room, int socket) {
    if (rte_eal_has_hugepages() != 0) {
        return rte_pktmbuf_pool_create(name, n, cache_size, priv_size, data_room, socket);
    }
    rte_mempool* mp = rte_mempool_create_empty(name, n, sizeof(rte_mbuf) + priv_size + data_room,
                                               cache_size, sizeof(rte_pktmbuf_pool_private), socket,
                                               RTE_MEMPOOL_F_NO_IOVA_CONTIG);
    if (mp == nullptr) {
        return nullptr;
    }
    rte_pktmbuf_pool_private priv{};
    priv.mbuf_data_room_size = data_room;
    priv.mbuf_priv_size = priv_size;
    if (int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr); rc != 0) {
        rte_mempool_free(mp);
        rte_errno = -rc;
        return nullptr;
    }
    rte_pktmbuf_pool_init(mp, &priv);
    if (int rc = rte_mempool_populate_default(mp); rc < 0) {
        rte_mempool_free(mp);
        rte_errno = -rc;
        return nullptr;
    }
    rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
    return mp;
}

void stop_and_close_port(uint16_t port_id) {
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
}

}  // namespace dpdk_app
