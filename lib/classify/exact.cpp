#include "classify/exact.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include <rte_debug.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "packet/meta.hpp"

namespace dpdk_app {

namespace {

constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;

constexpr bool has_ports(uint8_t proto) noexcept {
    return proto == proto_tcp || proto == proto_udp;
}

std::atomic<uint64_t> table_serial{0};

std::size_t heap_allocated() {
    std::size_t total = 0;
    for (unsigned i = 0; i < rte_socket_count(); ++i) {
        rte_malloc_socket_stats s{};
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0) {
            total += s.heap_allocsz_bytes;
        }
    }
    return total;
}

// A packet's ports: TCP's and UDP's, 0 for the other protocols (as the
// entries write them).
inline uint16_t sport_of(const packet_meta& pm) noexcept {
    return has_ports(pm.l4_proto) ? pm.src_port : 0;
}
inline uint16_t dport_of(const packet_meta& pm) noexcept {
    return has_ports(pm.l4_proto) ? pm.dst_port : 0;
}

// The key of a packet in each table; ports: whether it holds a port (a
// TCP / UDP packet without one is not looked up there).
struct flow4_key_of {
    using key = exact_flow4_key;
    static constexpr bool ports = true;
    void operator()(const packet_meta& pm, key& k) const noexcept {
        k = key{meta_src_ipv4(pm), meta_dst_ipv4(pm), sport_of(pm), dport_of(pm), pm.l4_proto, {}};
    }
};

struct flow6_key_of {
    using key = exact_flow6_key;
    static constexpr bool ports = true;
    void operator()(const packet_meta& pm, key& k) const noexcept {
        std::memcpy(k.src, pm.src_addr, 16);
        std::memcpy(k.dst, pm.dst_addr, 16);
        k.sport = sport_of(pm);
        k.dport = dport_of(pm);
        k.proto = pm.l4_proto;
        std::memset(k.pad, 0, sizeof k.pad);
    }
};

inline void addr4_of(uint32_t addr, uint16_t port, uint8_t proto, exact_addr4_key& k) noexcept {
    k = exact_addr4_key{addr, port, proto, {}};
}

inline void addr6_of(const uint8_t* addr, uint16_t port, uint8_t proto,
                     exact_addr6_key& k) noexcept {
    std::memcpy(k.addr, addr, 16);
    k.port = port;
    k.proto = proto;
    std::memset(k.pad, 0, sizeof k.pad);
}

// src (Src) or dst, with the protocol and port (Ports) or without.
template <bool Src, bool Ports>
struct addr4_key_of {
    using key = exact_addr4_key;
    static constexpr bool ports = Ports;
    void operator()(const packet_meta& pm, key& k) const noexcept {
        addr4_of(Src ? meta_src_ipv4(pm) : meta_dst_ipv4(pm),
                 Ports ? (Src ? sport_of(pm) : dport_of(pm)) : 0, Ports ? pm.l4_proto : 0, k);
    }
};

template <bool Src, bool Ports>
struct addr6_key_of {
    using key = exact_addr6_key;
    static constexpr bool ports = Ports;
    void operator()(const packet_meta& pm, key& k) const noexcept {
        addr6_of(Src ? pm.src_addr : pm.dst_addr, Ports ? (Src ? sport_of(pm) : dport_of(pm)) : 0,
                 Ports ? pm.l4_proto : 0, k);
    }
};

// Looks the candidates (a bit per packet) up in h; writes the verdict of
// each hit and returns the bits of the packets that hit.
template <class KeyOf>
uint64_t find(const rte_hash* h, uint64_t candidates, const packet_meta* const* meta,
              exact_verdict* out, KeyOf key_of) noexcept {
    typename KeyOf::key keys[RTE_HASH_LOOKUP_BULK_MAX];
    const void* key_ptrs[RTE_HASH_LOOKUP_BULK_MAX];
    uint8_t at[RTE_HASH_LOOKUP_BULK_MAX];
    unsigned c = 0;
    for (uint64_t m = candidates; m != 0; m &= m - 1) {
        const auto i = static_cast<unsigned>(__builtin_ctzll(m));
        key_of(*meta[i], keys[c]);
        key_ptrs[c] = &keys[c];
        at[c] = static_cast<uint8_t>(i);
        ++c;
    }
    uint64_t hit_mask = 0;
    void* data[RTE_HASH_LOOKUP_BULK_MAX];
    if (rte_hash_lookup_bulk_data(h, key_ptrs, c, &hit_mask, data) <= 0) {
        return 0;
    }
    uint64_t hits = 0;
    for (uint64_t m = hit_mask; m != 0; m &= m - 1) {
        const auto j = static_cast<unsigned>(__builtin_ctzll(m));
        out[at[j]] = static_cast<exact_verdict>(reinterpret_cast<uintptr_t>(data[j]));
        hits |= uint64_t{1} << at[j];
    }
    return hits;
}

}  // namespace

exact_table::table_id exact_table::table_of(const exact_entry& e) noexcept {
    const bool v6 = e.kind == exact_kind::dst ? e.dst.v6 : e.src.v6;
    const unsigned family = v6 ? 1 : 0;
    switch (e.kind) {
        case exact_kind::flow:
            return static_cast<table_id>(flow4 + family);
        case exact_kind::src:
            return static_cast<table_id>((e.l4 ? src_port4 : src4) + family);
        case exact_kind::dst:
            break;
    }
    return static_cast<table_id>((e.l4 ? dst_port4 : dst4) + family);
}

exact_table::~exact_table() {
    for (rte_hash* h : tables_) {
        rte_hash_free(h);
    }
}

std::unique_ptr<exact_table> exact_table::build(const exact_config& config, unsigned lanes,
                                                std::vector<std::string>& errors) {
    std::unique_ptr<exact_table> t(new exact_table());
    t->lanes_ = std::max(lanes, 1u);
    std::array<uint32_t, table_count> counts{};
    for (const exact_entry& e : config.entries) {
        ++counts[table_of(e)];
    }
    static constexpr uint32_t key_sizes[table_count] = {
        sizeof(exact_flow4_key), sizeof(exact_flow6_key), sizeof(exact_addr4_key),
        sizeof(exact_addr6_key), sizeof(exact_addr4_key), sizeof(exact_addr6_key),
        sizeof(exact_addr4_key), sizeof(exact_addr6_key), sizeof(exact_addr4_key),
        sizeof(exact_addr6_key)};
    const std::size_t before = heap_allocated();
    for (unsigned k = 0; k < table_count; ++k) {
        if (counts[k] == 0) {
            continue;
        }
        // rte_hash: at least one bucket of 8; extendable buckets take what
        // does not fit its two cuckoo buckets. Twice the entries (rte_hash
        // rounds up to a power of two): a table at most half full finds
        // most keys in their first bucket, as l3fwd sizes its em table.
        char name[RTE_HASH_NAMESIZE];
        std::snprintf(name, sizeof name, "xm%u_%llx", k,
                      static_cast<unsigned long long>(table_serial.fetch_add(1)));
        rte_hash_parameters p{};
        p.name = name;
        p.entries = std::max<uint32_t>(2 * counts[k], 8);
        p.key_len = key_sizes[k];
        p.hash_func = rte_hash_crc;
        p.hash_func_init_val = 0;
        p.socket_id = SOCKET_ID_ANY;
        p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
        t->tables_[k] = rte_hash_create(&p);
        if (t->tables_[k] == nullptr) {
            errors.push_back("firewall.exact: cannot create a hash table of " +
                             std::to_string(counts[k]) + " entries: " + rte_strerror(rte_errno));
            return nullptr;
        }
    }
    alignas(16) uint8_t key[sizeof(exact_flow6_key)];
    for (std::size_t i = 0; i < config.entries.size(); ++i) {
        const exact_entry& e = config.entries[i];
        const table_id id = table_of(e);
        switch (id) {
            case flow4: {
                exact_flow4_key k{};
                std::memcpy(&k.src, e.src.bytes.data(), 4);
                std::memcpy(&k.dst, e.dst.bytes.data(), 4);
                k.sport = e.sport;
                k.dport = e.dport;
                k.proto = e.proto;
                std::memcpy(key, &k, sizeof k);
                break;
            }
            case flow6: {
                exact_flow6_key k{};
                std::memcpy(k.src, e.src.bytes.data(), 16);
                std::memcpy(k.dst, e.dst.bytes.data(), 16);
                k.sport = e.sport;
                k.dport = e.dport;
                k.proto = e.proto;
                std::memcpy(key, &k, sizeof k);
                break;
            }
            default: {
                const bool src = e.kind == exact_kind::src;
                const ip_address& a = src ? e.src : e.dst;
                const uint16_t port = e.l4 ? (src ? e.sport : e.dport) : 0;
                const uint8_t proto = e.l4 ? e.proto : 0;
                if (a.v6) {
                    exact_addr6_key k{};
                    addr6_of(a.bytes.data(), port, proto, k);
                    std::memcpy(key, &k, sizeof k);
                } else {
                    exact_addr4_key k{};
                    uint32_t addr = 0;
                    std::memcpy(&addr, a.bytes.data(), 4);
                    addr4_of(addr, port, proto, k);
                    std::memcpy(key, &k, sizeof k);
                }
                break;
            }
        }
        if (e.action != firewall_action::accept && e.action != firewall_action::drop) {
            errors.push_back("firewall.exact: entry " + std::to_string(i + 1) +
                             ": the action must be accept or drop");
            continue;
        }
        const auto verdict =
            e.action == firewall_action::accept ? exact_verdict::accept : exact_verdict::drop;
        void* data = nullptr;
        if (rte_hash_lookup_data(t->tables_[id], key, &data) >= 0) {
            if (static_cast<exact_verdict>(reinterpret_cast<uintptr_t>(data)) != verdict) {
                errors.push_back("firewall.exact: entry " + std::to_string(i + 1) + " (line " +
                                 std::to_string(e.where.line) +
                                 ") repeats the key of an earlier entry with another action");
            }
            continue;
        }
        const int rc = rte_hash_add_key_data(
            t->tables_[id], key, reinterpret_cast<void*>(static_cast<uintptr_t>(verdict)));
        if (rc != 0) {
            errors.push_back("firewall.exact: cannot add entry " + std::to_string(i + 1) + ": " +
                             std::strerror(-rc));
            return nullptr;
        }
        ++t->size_;
    }
    if (!errors.empty()) {
        return nullptr;
    }
    t->hits_ = std::make_unique<exact_hits[]>(t->lanes_);
    t->memory_ = heap_allocated() - std::min(before, heap_allocated());
    return t;
}

void exact_table::lookup(rte_mbuf* const* pkts, uint16_t n, exact_verdict* out,
                         unsigned lane) const noexcept {
    const packet_meta* meta[RTE_HASH_LOOKUP_BULK_MAX];
    uint64_t missing[2] = {0, 0};  // per family (IPv4, IPv6): not decided yet
    uint64_t ported[2] = {0, 0};   // per family: the ports are known
    RTE_ASSERT(n <= RTE_HASH_LOOKUP_BULK_MAX);
    for (unsigned i = 0; i < n; ++i) {
        out[i] = exact_verdict::miss;
        const packet_meta* pm = meta_of(pkts[i]);
        meta[i] = pm;
        if (pm->l3 != l3_kind::ipv4 && pm->l3 != l3_kind::ipv6) {
            continue;
        }
        const unsigned family = pm->l3 == l3_kind::ipv6 ? 1 : 0;
        const uint64_t bit = uint64_t{1} << i;
        missing[family] |= bit;
        // TCP / UDP without a valid L4 header here: a non-first fragment.
        if (!has_ports(pm->l4_proto) || (pm->flags & meta_l4_valid) != 0) {
            ported[family] |= bit;
        }
    }
    // One table: the packets of its family still missing (with ports
    // when its keys hold them).
    auto step = [&](table_id id, unsigned family, auto key_of) {
        const rte_hash* h = tables_[id];
        const uint64_t candidates =
            missing[family] & (decltype(key_of)::ports ? ported[family] : ~uint64_t{0});
        if (h != nullptr && candidates != 0) {
            missing[family] &= ~find(h, candidates, meta, out, key_of);
        }
    };
    step(flow4, 0, flow4_key_of{});
    step(flow6, 1, flow6_key_of{});
    step(src_port4, 0, addr4_key_of<true, true>{});
    step(src_port6, 1, addr6_key_of<true, true>{});
    step(src4, 0, addr4_key_of<true, false>{});
    step(src6, 1, addr6_key_of<true, false>{});
    step(dst_port4, 0, addr4_key_of<false, true>{});
    step(dst_port6, 1, addr6_key_of<false, true>{});
    step(dst4, 0, addr4_key_of<false, false>{});
    step(dst6, 1, addr6_key_of<false, false>{});

    uint64_t counts[2][2] = {};  // [verdict][packets, bytes]
    for (unsigned i = 0; i < n; ++i) {
        if (out[i] != exact_verdict::miss) {
            const auto v = static_cast<unsigned>(out[i]);
            counts[v][0] += 1;
            counts[v][1] += rte_pktmbuf_pkt_len(pkts[i]);
        }
    }
    exact_hits& row = hits_[lane];
    if (counts[0][0] != 0) {
        row.accept_packets.add(counts[0][0]);
        row.accept_bytes.add(counts[0][1]);
    }
    if (counts[1][0] != 0) {
        row.drop_packets.add(counts[1][0]);
        row.drop_bytes.add(counts[1][1]);
    }
}

exact_table::totals exact_table::hits() const noexcept {
    totals t;
    for (unsigned lane = 0; lane < lanes_; ++lane) {
        const exact_hits& h = hits_[lane];
        t.accept_packets += h.accept_packets.get();
        t.accept_bytes += h.accept_bytes.get();
        t.drop_packets += h.drop_packets.get();
        t.drop_bytes += h.drop_bytes.get();
    }
    return t;
}

}  // namespace dpdk_app
