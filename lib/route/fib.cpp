#include "route/fib.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_jhash.h>
#include <rte_rib.h>

namespace dpdk_app {

namespace {

// The interface whose subnet holds a, longest prefix first.
const interface_config* interface_for(const router_config& config, const ip_address& a) {
    const interface_config* best = nullptr;
    int best_len = -1;
    for (const auto& i : config.interfaces) {
        for (const auto& p : i.addresses) {
            if (masked(p.address, p.length).contains(a) && p.length > best_len) {
                best = &i;
                best_len = p.length;
            }
        }
    }
    return best;
}

bool is_own_address(const router_config& config, const ip_address& a) {
    for (const auto& i : config.interfaces) {
        for (const auto& p : i.addresses) {
            if (p.address == a) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace

resolved_router resolve_router(const router_config& config, const std::string& source,
                               std::vector<config_error>& errors) {
    resolved_router out;
    out.routes.reserve(config.routes.size() + 2 * config.interfaces.size());
    // Prefix -> where it was first defined, to report duplicates. Keyed by
    // the 16 address bytes, the length and the family.
    struct prefix_hash {
        std::size_t operator()(const std::array<uint8_t, 18>& k) const noexcept {
            return std::hash<std::string_view>()(
                std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
        }
    };
    std::unordered_map<std::array<uint8_t, 18>, const std::string*, prefix_hash> seen;
    seen.reserve(out.routes.capacity());
    std::vector<std::unique_ptr<std::string>> interface_origins;
    // origin: how a first definition is named; at: where this one is (the
    // error's position: "file:line:col").
    auto add = [&](resolved_route r, const std::string& origin, const std::string& at) {
        std::array<uint8_t, 18> k{};
        std::copy(r.prefix.address.bytes.begin(), r.prefix.address.bytes.end(), k.begin());
        k[16] = r.prefix.length;
        k[17] = r.prefix.address.v6 ? 1 : 0;
        auto [it, fresh] = seen.emplace(k, &origin);
        if (!fresh) {
            errors.push_back({at,
                              {},
                              "route " + to_string(r.prefix) + " is defined twice (first at " +
                                  *it->second + ")"});
            return;
        }
        out.routes.push_back(std::move(r));
    };
    for (const auto& i : config.interfaces) {
        interface_origins.push_back(std::make_unique<std::string>("interface '" + i.port + "'"));
        const std::string& origin = *interface_origins.back();
        const std::string at = i.where.line == 0 ? origin
                                                 : source + ":" + std::to_string(i.where.line) +
                                                       ":" + std::to_string(i.where.column);
        for (const auto& a : i.addresses) {
            const uint8_t host_len = a.address.v6 ? 128 : 32;
            if (a.length < host_len) {
                add({masked(a.address, a.length), next_hop_kind::connected, i.port, std::nullopt},
                    origin, at);
            }
            add({ip_prefix{a.address, host_len}, next_hop_kind::local, i.port, std::nullopt},
                origin, at);
        }
    }
    for (const auto& r : config.routes) {
        auto fail = [&](const std::string& msg) {
            errors.push_back({r.origin, {}, "route " + to_string(r.prefix) + ": " + msg});
        };
        resolved_route rr{r.prefix, next_hop_kind::forward, r.port, r.via};
        if (r.via) {
            if (r.via->v6 != r.prefix.address.v6) {
                fail("next hop " + to_string(*r.via) + " is not of the prefix's address family");
                continue;
            }
            if (is_own_address(config, *r.via)) {
                fail("next hop " + to_string(*r.via) + " is one of the appliance's own addresses");
                continue;
            }
            const interface_config* i = interface_for(config, *r.via);
            if (rr.port.empty()) {
                if (i == nullptr) {
                    fail("next hop " + to_string(*r.via) +
                         " is not inside any interface subnet (add port = \"...\" or an "
                         "interface address covering it)");
                    continue;
                }
                rr.port = i->port;
            }
        } else {
            if (rr.port.empty()) {
                fail("needs via = \"ADDRESS\" or port = \"NAME\" (directly connected)");
                continue;
            }
            rr.kind = next_hop_kind::connected;
        }
        bool has_interface = false;
        for (const auto& i : config.interfaces) {
            has_interface = has_interface || i.port == rr.port;
        }
        if (!has_interface) {
            fail("port '" + rr.port + "' has no [[interface]]");
            continue;
        }
        add(std::move(rr), r.origin, r.origin);
    }
    for (const auto& n : config.neighbors) {
        resolved_neighbor rn{n.address, n.mac, n.port};
        if (rn.port.empty()) {
            const interface_config* i = interface_for(config, n.address);
            if (i == nullptr) {
                errors.push_back({source, n.where,
                                  "neighbor " + to_string(n.address) +
                                      " is not inside any interface subnet (add port = \"...\")"});
                continue;
            }
            rn.port = i->port;
        }
        out.neighbors.push_back(std::move(rn));
    }
    return out;
}

namespace {

// tbl8 groups rte_lpm needs: one per /24 that holds longer prefixes.
uint32_t tbl8_groups_v4(const std::vector<resolved_route>& routes) {
    std::unordered_set<uint32_t> parents;
    for (const auto& r : routes) {
        if (!r.prefix.address.v6 && r.prefix.length > 24) {
            parents.insert(r.prefix.address.v4_host() >> 8);
        }
    }
    return static_cast<uint32_t>(parents.size()) + 64;
}

// tbl8 groups rte_lpm6 needs: one per distinct leading-bytes prefix at each
// level below the first 24 bits.
uint32_t tbl8_groups_v6(const std::vector<resolved_route>& routes) {
    std::set<std::pair<unsigned, std::array<uint8_t, 16>>> groups;
    for (const auto& r : routes) {
        if (!r.prefix.address.v6 || r.prefix.length <= 24) {
            continue;
        }
        const unsigned bytes = (r.prefix.length + 7u) / 8u;
        for (unsigned k = 3; k < bytes; ++k) {
            std::array<uint8_t, 16> lead{};
            std::copy_n(r.prefix.address.bytes.begin(), k, lead.begin());
            groups.emplace(k, lead);
        }
    }
    const auto n = static_cast<uint32_t>(groups.size());
    return n + n / 4 + 64;
}

}  // namespace

std::unique_ptr<fib> fib::build(const resolved_router& router,
                                const std::map<std::string, fib_port>& ports, uint64_t generation,
                                neighbor_table& neighbors, bool tables, std::string& error) {
    std::unique_ptr<fib> f(new fib());
    f->generation_ = generation;
    f->neighbors_ = &neighbors;
    for (const auto& [name, p] : ports) {
        if (p.id < max_ports) {
            fib_port& q = f->ports_[p.id];
            q = p;
            uint8_t tail[8];
            std::memcpy(tail, p.mac.addr_bytes, 6);
            tail[6] = 0x08;  // RTE_ETHER_TYPE_IPV4, network order
            tail[7] = 0x00;
            std::memcpy(&q.eth_src_ipv4, tail, 8);
            f->min_mtu_ = std::min(f->min_mtu_, p.mtu);
        }
        f->local4_.insert(f->local4_.end(), p.addr4.begin(), p.addr4.end());
        f->local6_.insert(f->local6_.end(), p.addr6.begin(), p.addr6.end());
    }
    if (!tables) {
        return f;
    }
    auto port_id = [&](const std::string& name) -> uint16_t {
        auto it = ports.find(name);
        return it == ports.end() ? no_port : it->second.id;
    };
    auto neighbor_of = [&](const ip_address& a, uint16_t port) -> int32_t {
        const int32_t slot = neighbors.insert(a, port);
        if (slot < 0) {
            error = "neighbor " + to_string(a) +
                    ": the neighbour table is full (raise responder.neighbor_max)";
        }
        return slot;
    };

    // Static neighbours are permanent entries; gateways start incomplete
    // until ARP / NDP resolves them.
    for (const auto& n : router.neighbors) {
        const uint16_t port = port_id(n.port);
        if (port == no_port) {
            error = "neighbor " + to_string(n.address) + ": port '" + n.port + "' was not found";
            return nullptr;
        }
        const int32_t slot = neighbor_of(n.address, port);
        if (slot < 0) {
            return nullptr;
        }
        rte_ether_addr mac;
        std::memcpy(mac.addr_bytes, n.mac.data(), 6);
        neighbors.store(static_cast<uint32_t>(slot), mac, port, neighbor_state::permanent);
    }

    std::map<std::tuple<next_hop_kind, uint16_t, uint32_t>, uint32_t> hop_index;
    auto hop_of = [&](next_hop h) {
        auto [it, fresh] = hop_index.emplace(std::make_tuple(h.kind, h.port, h.neighbor),
                                             static_cast<uint32_t>(f->next_hops_.size()));
        if (fresh) {
            f->next_hops_.push_back(h);
        }
        return it->second;
    };

    // Next hops first: the IPv4 table's default (0.0.0.0/0) is fixed when it
    // is created.
    std::vector<uint32_t> hop_of_route;
    hop_of_route.reserve(router.routes.size());
    std::size_t n4 = 0;
    std::size_t n6 = 0;
    for (const auto& r : router.routes) {
        next_hop h;
        h.kind = r.kind;
        h.port = port_id(r.port);
        if (h.port == no_port) {
            error = "route " + to_string(r.prefix) + ": port '" + r.port + "' was not found";
            return nullptr;
        }
        if (r.kind == next_hop_kind::forward) {
            const int32_t slot = neighbor_of(*r.gateway, h.port);
            if (slot < 0) {
                return nullptr;
            }
            h.neighbor = static_cast<uint32_t>(slot);
        }
        hop_of_route.push_back(hop_of(h));
        const bool v6 = r.prefix.address.v6;
        (v6 ? n6 : n4)++;
        if (r.prefix.length == 0) {
            (v6 ? f->default6_ : f->default4_) = static_cast<int32_t>(hop_of_route.back());
        }
    }

    const std::string suffix = std::to_string(generation);
    rte_fib_conf c4{};
    c4.type = RTE_FIB_DIR24_8;
    c4.default_nh = f->default4_ >= 0 ? static_cast<uint64_t>(f->default4_) : fib_miss;
    c4.max_routes = static_cast<int>(n4 + 16);
    c4.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
    c4.dir24_8.num_tbl8 = tbl8_groups_v4(router.routes);
    f->fib4_ = rte_fib_create(("fib4_" + suffix).c_str(), SOCKET_ID_ANY, &c4);
    rte_lpm6_config c6{};
    c6.max_rules = static_cast<uint32_t>(n6 + 16);
    c6.number_tbl8s = tbl8_groups_v6(router.routes);
    f->lpm6_ = rte_lpm6_create(("fib6_" + suffix).c_str(), SOCKET_ID_ANY, &c6);
    if (f->fib4_ == nullptr || f->lpm6_ == nullptr) {
        error = std::string("cannot create the route tables (") + rte_strerror(rte_errno) +
                "): the IPv4 and IPv6 tables need about 70 MB each; give EAL more memory (-m) "
                "or hugepages";
        return nullptr;
    }

    for (std::size_t i = 0; i < router.routes.size(); ++i) {
        const auto& r = router.routes[i];
        const uint32_t index = hop_of_route[i];
        const bool v6 = r.prefix.address.v6;
        if (r.prefix.length == 0) {
            // the default: default_nh (IPv4) or default6_ (IPv6)
        } else if (v6) {
            if (rte_lpm6_add(f->lpm6_, r.prefix.address.bytes.data(), r.prefix.length, index) !=
                0) {
                error =
                    "route " + to_string(r.prefix) + ": rte_lpm6_add failed (out of tbl8 groups?)";
                return nullptr;
            }
        } else if (rte_fib_add(f->fib4_, r.prefix.address.v4_host(), r.prefix.length, index) != 0) {
            error = "route " + to_string(r.prefix) + ": rte_fib_add failed (out of tbl8 groups?)";
            return nullptr;
        }
        (v6 ? f->routes6_ : f->routes4_)++;
    }
    return f;
}

fib::~fib() {
    rte_fib_free(fib4_);
    rte_lpm6_free(lpm6_);
}

std::unique_ptr<fib> compile_fib(const app_config& config, const std::vector<port_plan>& ports,
                                 uint64_t generation, neighbor_table& neighbors,
                                 std::vector<std::string>& errors) {
    std::vector<config_error> config_errors;
    const bool router = config.mode == forwarding_mode::router;
    const resolved_router routes =
        router ? resolve_router(config.router, config.source, config_errors) : resolved_router{};
    for (const auto& e : config_errors) {
        errors.push_back(e.to_string());
    }
    if (!config_errors.empty()) {
        return nullptr;
    }
    std::map<std::string, fib_port> by_name;
    for (const auto& p : ports) {
        fib_port fp;
        fp.id = p.port_id;
        rte_eth_macaddr_get(p.port_id, &fp.mac);
        by_name[p.name] = fp;
    }
    for (const auto& i : config.router.interfaces) {
        auto it = by_name.find(i.port);
        if (it == by_name.end()) {
            errors.push_back(config.source + ":" + std::to_string(i.where.line) + ":" +
                             std::to_string(i.where.column) + ": interface port '" + i.port +
                             "' is not one of the ports in use");
            return nullptr;
        }
        it->second.mtu = i.mtu;
        if (i.mac) {
            std::memcpy(it->second.mac.addr_bytes, i.mac->data(), 6);
        }
        for (const auto& a : i.addresses) {
            if (a.address.v6) {
                it->second.addr6.push_back(a.address.bytes);
            } else {
                uint32_t v4;
                std::memcpy(&v4, a.address.bytes.data(), 4);
                it->second.addr4.push_back(v4);
            }
        }
    }
    std::string error;
    auto f = fib::build(routes, by_name, generation, neighbors, router, error);
    if (!f) {
        errors.push_back(error);
    }
    return f;
}

int32_t fib::rule4(uint32_t ip_host, uint8_t depth) const noexcept {
    if (depth == 0) {
        return default4_;
    }
    rte_rib* rib = rte_fib_get_rib(fib4_);
    rte_rib_node* node = rte_rib_lookup_exact(rib, ip_host, depth);
    uint64_t nh = 0;
    if (node == nullptr || rte_rib_get_nh(node, &nh) != 0) {
        return -1;
    }
    return static_cast<int32_t>(nh);
}

}  // namespace dpdk_app
