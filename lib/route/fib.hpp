// The forwarding information base: an immutable table built from the
// configuration (interfaces and their addresses; in router mode also static
// routes and neighbours), one of the tables of a generation
// (pipeline/generation.hpp): the route and respond stages read it with
// ctx.table<fib>().
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rte_ether.h>
#include <rte_fib.h>
#include <rte_lpm6.h>

#include "config/config.hpp"
#include "io/port.hpp"
#include "pipeline/counters.hpp"
#include "route/neighbor.hpp"

namespace dpdk_app {

enum class next_hop_kind : uint8_t {
    forward,    // via a gateway: the neighbour is known in advance
    connected,  // the destination itself is the neighbour
    local,      // one of the appliance's own addresses
};

struct next_hop {
    next_hop_kind kind = next_hop_kind::forward;
    uint16_t port = no_port;
    uint32_t neighbor = 0;  // slot in the neighbour table (forward only)
};

struct fib_port {
    uint16_t id = no_port;
    rte_ether_addr mac{};
    uint16_t mtu = 1500;                          // L3 bytes
    std::vector<uint32_t> addr4;                  // the interface's addresses, network order
    std::vector<std::array<uint8_t, 16>> addr6;  // (the first is the source of ICMP errors)
    // Bytes 6..13 of an untagged IPv4 frame this port sends: its MAC, then
    // EtherType 0x0800 (as loaded from memory); set by fib::build.
    uint64_t eth_src_ipv4 = 0;
};

// A route with its egress decided, before any table exists (no EAL needed).
struct resolved_route {
    ip_prefix prefix;
    next_hop_kind kind = next_hop_kind::forward;
    std::string port;
    std::optional<ip_address> gateway;
};

struct resolved_neighbor {
    ip_address address;
    mac_address mac{};
    std::string port;
};

struct resolved_router {
    std::vector<resolved_route> routes;  // connected, local and static routes
    std::vector<resolved_neighbor> neighbors;
};

// Derives connected and local routes from the interfaces and decides the
// egress interface of every static route and neighbour. Appends one error
// per problem (route whose gateway is on no interface subnet, duplicate
// prefix, mixed address families, ...).
resolved_router resolve_router(const router_config& config, const std::string& source,
                               std::vector<config_error>& errors);

class fib;

// The fib of a configuration for the ports in use: each port's MAC (its
// own, or the interface's mac), MTU and addresses; in router mode also the
// routes and static neighbours (neighbour-table entries for gateways and
// static neighbours go into neighbors). generation numbers the tables.
// Returns nullptr and appends every error when it cannot be built.
std::unique_ptr<fib> compile_fib(const app_config& config, const std::vector<port_plan>& ports,
                                 uint64_t generation, neighbor_table& neighbors,
                                 std::vector<std::string>& errors);

class fib {
  public:
    // Builds the tables. ports maps port names to ids, MACs and MTUs.
    // generation numbers the tables' names. On failure returns nullptr and
    // sets error.
    // neighbors receives an entry per gateway and the static neighbours; it
    // outlives every fib. tables = false (bridge mode) builds only the ports
    // and the appliance's own addresses, without route tables.
    static std::unique_ptr<fib> build(const resolved_router& router,
                                      const std::map<std::string, fib_port>& ports,
                                      uint64_t generation, neighbor_table& neighbors,
                                      bool tables, std::string& error);
    ~fib();
    fib(const fib&) = delete;
    fib& operator=(const fib&) = delete;

    // IPv4: DPDK's rte_fib (DIR-24-8, the rte_lpm algorithm with a RIB that
    // adds a route in O(log n) where rte_lpm_add scans every rule of the same
    // length: 1M routes load in seconds instead of minutes).
    rte_fib* fib4() const noexcept { return fib4_; }
    rte_lpm6* lpm6() const noexcept { return lpm6_; }
    static constexpr unsigned lookup_max = 64;
    // Next-hop indices of up to lookup_max IPv4 addresses (host order), -1
    // for no route; 0.0.0.0/0 is the table's default.
    void lookup4_bulk(uint32_t* ips_host, int32_t* hops, unsigned n) const noexcept {
        uint64_t nh[lookup_max];
        rte_fib_lookup_bulk(fib4_, ips_host, nh, static_cast<int>(n));
        for (unsigned i = 0; i < n; ++i) {
            hops[i] = nh[i] == fib_miss ? -1 : static_cast<int32_t>(nh[i]);
        }
    }
    // The next hop of exactly this IPv4 rule (0.0.0.0/0 included), or -1.
    int32_t rule4(uint32_t ip_host, uint8_t depth) const noexcept;
    // Next hop of 0.0.0.0/0 and ::/0 (rte_lpm6 depths start at 1), or -1.
    int32_t default4() const noexcept { return default4_; }
    int32_t default6() const noexcept { return default6_; }
    static constexpr uint64_t fib_miss = (1ull << 30) - 1;  // default_nh without a default route
    const next_hop& hop(uint32_t index) const noexcept { return next_hops_[index]; }
    // Every next hop, indexed by what the lookups return (for loops that
    // keep the table's address in a register).
    const next_hop* hops() const noexcept { return next_hops_.data(); }
    const neighbor_table& neighbors() const noexcept { return *neighbors_; }
    const fib_port& port(uint16_t id) const noexcept { return ports_[id]; }
    // The smallest MTU of the ports (a packet no longer than this fits anywhere).
    uint16_t min_mtu() const noexcept { return min_mtu_; }
    bool has_tables() const noexcept { return fib4_ != nullptr; }

    // The appliance's own addresses, on any port.
    bool owns4(uint32_t ip) const noexcept {  // network order
        for (uint32_t a : local4_) {
            if (a == ip) {
                return true;
            }
        }
        return false;
    }
    bool owns6(const uint8_t* ip) const noexcept {
        for (const auto& a : local6_) {
            if (__builtin_memcmp(a.data(), ip, 16) == 0) {
                return true;
            }
        }
        return false;
    }
    const std::vector<uint32_t>& local4() const noexcept { return local4_; }
    bool has_addresses() const noexcept { return !local4_.empty() || !local6_.empty(); }

    uint64_t generation() const noexcept { return generation_; }
    std::size_t routes4() const noexcept { return routes4_; }
    std::size_t routes6() const noexcept { return routes6_; }

  private:
    fib() = default;

    rte_fib* fib4_ = nullptr;
    rte_lpm6* lpm6_ = nullptr;
    const neighbor_table* neighbors_ = nullptr;
    int32_t default4_ = -1;
    int32_t default6_ = -1;
    std::vector<next_hop> next_hops_;
    std::vector<uint32_t> local4_;
    std::vector<std::array<uint8_t, 16>> local6_;
    std::array<fib_port, max_ports> ports_{};
    uint16_t min_mtu_ = UINT16_MAX;
    uint64_t generation_ = 0;
    std::size_t routes4_ = 0;
    std::size_t routes6_ = 0;
};

}  // namespace dpdk_app
