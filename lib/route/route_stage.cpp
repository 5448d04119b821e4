#include "route/route_stage.hpp"

#include <algorithm>
#include <cstring>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_memcpy.h>

#include "packet/byteorder.hpp"
#include "packet/meta.hpp"
#include "packet/parse_fast.hpp"
#include "parse/parse_stage.hpp"
#include "packet/rewrite.hpp"

namespace dpdk_app {

static_assert(max_burst <= fib::lookup_max, "one bulk lookup per burst");

namespace {

// RFC 1812 5.3.7 and 4.2.2.11: sources a router must not forward from.
bool martian_source4(uint32_t src_host) noexcept {
    const uint32_t first = src_host >> 24;
    return first == 0 || first == 127 || first >= 224;  // 0/8, 127/8, multicast, class E, bcast
}

bool martian_destination4(uint32_t dst_host) noexcept {
    const uint32_t first = dst_host >> 24;
    return first == 0 || first == 127 || first >= 224 || (dst_host >> 16) == 0xa9fe;  // 169.254/16
}

bool martian_source6(const uint8_t* a) noexcept {
    static constexpr uint8_t zero[16] = {};
    if (a[0] == 0xff) {
        return true;  // multicast
    }
    if (std::memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
        return true;  // :: and ::1
    }
    return false;
}

bool martian_destination6(const uint8_t* a) noexcept {
    static constexpr uint8_t zero[16] = {};
    if (a[0] == 0xff) {
        return true;  // multicast is not routed
    }
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return true;  // fe80::/10 link-local must not be forwarded (RFC 4291)
    }
    return std::memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1);
}

}  // namespace

namespace {

// marked: packets may carry a classifier's punt mark (a reject rule): they
// are not routed but handed to the responder as marked. Only the route
// stage behind a classifier checks; the fused stage, which no classifier
// precedes, does not pay for it.
template <bool marked>
void route_burst_impl(const fib* f, burst& b, uint16_t from, stage_context& ctx) noexcept {
    const neighbor_table& nt = f->neighbors();
    const uint16_t n = b.count;
    b.out_port = no_port;  // egress is decided per packet below
    b.port_runs = {};

    // 1. Sort out what is not routable and gather the lookup keys. A packet
    //    is forwarded (ok), handed to the responder (punt) or dropped.
    std::array<drop_reason, max_burst> verdict;  // meaningful where !ok[i] && punt none
    std::array<punt_kind, max_burst> punt{};
    std::array<bool, max_burst> ok{};
    std::array<int32_t, max_burst> hop;
    std::array<uint32_t, max_burst> ips4;
    std::array<uint16_t, max_burst> at4;
    uint8_t ips6[max_burst][RTE_LPM6_IPV6_ADDR_SIZE];
    std::array<uint16_t, max_burst> at6;
    uint16_t n4 = 0;
    uint16_t n6 = 0;
    for (uint16_t i = from; i < n; ++i) {
        const packet_meta& pm = *meta_of(b.pkts[i]);
        if (marked && pm.punt != punt_kind::none) {
            punt[i] = pm.punt;  // not routed: the responder answers it
            continue;
        }
        if (pm.vlan_count != 0) {
            verdict[i] = drop_reason::vlan_not_routed;
            continue;
        }
        if (pm.l3 == l3_kind::ipv4) {
            const uint32_t src = swap_be32(meta_src_ipv4(pm));
            const uint32_t dst = swap_be32(meta_dst_ipv4(pm));
            if (martian_source4(src)) {
                verdict[i] = drop_reason::martian_source;
            } else if (martian_destination4(dst)) {
                verdict[i] = drop_reason::martian_destination;
            } else {
                ips4[n4] = dst;
                at4[n4++] = i;
                ok[i] = true;
            }
        } else if (pm.l3 == l3_kind::ipv6) {
            static constexpr uint8_t unspecified[16] = {};
            const bool dad = pm.l4_proto == IPPROTO_ICMPV6 && pm.dst_addr[0] == 0xff &&
                             std::memcmp(pm.src_addr, unspecified, 16) == 0;
            if (martian_source6(pm.src_addr) && !dad) {
                verdict[i] = drop_reason::martian_source;  // :: only in DAD to a group
            } else if (pm.dst_addr[0] == 0xff) {
                // Multicast: NDP to the groups the appliance listens to goes to
                // the responder, which checks the target.
                if (pm.l4_proto == IPPROTO_ICMPV6) {
                    punt[i] = punt_kind::local;
                } else {
                    verdict[i] = drop_reason::not_for_us_multicast;
                }
            } else if (martian_destination6(pm.dst_addr)) {
                verdict[i] = drop_reason::martian_destination;
            } else {
                std::memcpy(ips6[n6], pm.dst_addr, 16);
                at6[n6++] = i;
                ok[i] = true;
            }
        } else if (pm.l3 == l3_kind::arp) {
            punt[i] = punt_kind::arp;
        } else {
            verdict[i] = drop_reason::not_ip;
        }
    }

    // 2. Bulk lookups.
    if (n4 > 0) {
        std::array<int32_t, max_burst> res;
        f->lookup4_bulk(ips4.data(), res.data(), n4);
        for (uint16_t k = 0; k < n4; ++k) {
            hop[at4[k]] = res[k];
        }
    }
    if (n6 > 0) {
        std::array<int32_t, max_burst> res;
        rte_lpm6_lookup_bulk_func(f->lpm6(), ips6, res.data(), n6);
        for (uint16_t k = 0; k < n6; ++k) {
            hop[at6[k]] = res[k] >= 0 ? res[k] : f->default6();
        }
    }

    // 3. Decide per packet. A packet to a gateway (the common case) is
    //    rewritten here; connected destinations are gathered for one bulk
    //    neighbour lookup per family and rewritten in step 4.
    std::array<uint32_t, max_burst> slot;
    std::array<uint16_t, max_burst> egress;
    std::array<const void*, max_burst> keys4;
    std::array<uint16_t, max_burst> conn4;
    std::array<const void*, max_burst> keys6;
    std::array<uint16_t, max_burst> conn6;
    std::array<bool, max_burst> done{};  // forwarded in step 3
    uint16_t c4 = 0;
    uint16_t c6 = 0;
    uint16_t n_done = 0;
    for (uint16_t i = from; i < n; ++i) {
        if (!ok[i]) {
            continue;
        }
        rte_mbuf* m = b.pkts[i];
        packet_meta& pm = *meta_of(m);
        ok[i] = false;
        if (hop[i] < 0) {
            punt[i] = punt_kind::no_route;
            continue;
        }
        const next_hop& h = f->hop(static_cast<uint32_t>(hop[i]));
        if (h.kind == next_hop_kind::local) {
            punt[i] = punt_kind::local;
            continue;
        }
        if (pm.ttl <= 1) {
            punt[i] = punt_kind::ttl_exceeded;
            continue;
        }
        const fib_port& out = f->port(h.port);
        if (pm.l3_total > out.mtu) {
            punt[i] = punt_kind::too_big;
            pm.punt_arg = out.mtu;
            continue;
        }
        ok[i] = true;
        egress[i] = h.port;
        if (h.kind == next_hop_kind::forward) {
            const uint64_t nb = nt.load(h.neighbor);
            if (neighbor_table::usable(nb)) {
                forward_to_next_hop(m, pm, nb, out.mac, h.port);
                done[i] = true;
                ++n_done;
            } else {
                slot[i] = h.neighbor;
            }
        } else if (pm.l3 == l3_kind::ipv4) {
            keys4[c4] = pm.dst_addr;
            conn4[c4++] = i;
        } else {
            keys6[c6] = pm.dst_addr;
            conn6[c6++] = i;
        }
    }
    b.has_punts = false;
    if (n_done == n - from) {
        return;  // every packet forwarded, in place
    }
    auto resolve = [&](rte_hash* h, std::array<const void*, max_burst>& keys,
                       std::array<uint16_t, max_burst>& at, uint16_t count) {
        if (count == 0) {
            return;
        }
        std::array<void*, max_burst> data;
        uint64_t hits = 0;
        rte_hash_lookup_bulk_data(h, keys.data(), count, &hits, data.data());
        for (uint16_t k = 0; k < count; ++k) {
            slot[at[k]] = (hits >> k & 1) != 0
                              ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[k]))
                              : no_neighbor_slot;
        }
    };
    resolve(nt.hash4(), keys4, conn4, c4);
    resolve(nt.hash6(), keys6, conn6, c6);

    // 4. Keep what step 3 forwarded; rewrite and keep the connected ones,
    //    hand to the responder (kept, marked), or drop.
    uint16_t kept = from;
    bool punted = false;
    for (uint16_t i = from; i < n; ++i) {
        rte_mbuf* m = b.pkts[i];
        if (done[i]) {
            b.pkts[kept++] = m;
            continue;
        }
        packet_meta& pm = *meta_of(m);
        if (!ok[i]) {
            if (punt[i] == punt_kind::none) {
                ctx.drop(m, verdict[i]);
                continue;
            }
            pm.punt = punt[i];
            m->port = pm.in_port;
            punted = true;
            b.pkts[kept++] = m;
            continue;
        }
        const uint64_t nb = slot[i] == no_neighbor_slot ? 0 : nt.load(slot[i]);
        if (!neighbor_table::usable(nb)) {
            pm.punt = punt_kind::unresolved;
            pm.punt_arg = slot[i];
            m->port = egress[i];
            punted = true;
            b.pkts[kept++] = m;
            continue;
        }
        forward_to_next_hop(m, pm, nb, f->port(egress[i]).mac, egress[i]);
        b.pkts[kept++] = m;
    }
    b.count = kept;
    b.has_punts = punted;
}

}  // namespace

void route_burst(const fib* f, burst& b, uint16_t from, stage_context& ctx) noexcept {
    route_burst_impl<false>(f, b, from, ctx);
}

void route_stage::process(burst& b, stage_context& ctx) noexcept {
    if (b.has_punts) {
        route_burst_impl<true>(ctx.table<fib>(), b, 0, ctx);
    } else {
        route_burst_impl<false>(ctx.table<fib>(), b, 0, ctx);
    }
}

namespace {

// The fused stage's fast path: forwards the longest head of b that is
// untagged IPv4 the parse fast path accepts, with a sane source and
// destination and TTL > 1, routed via a gateway whose neighbour entry is
// usable, within the egress MTU. Returns how many packets it forwarded:
// b.pkts[0..k), rewritten, mbuf->port set, grouped by egress port (each
// port's packets in order; burst::port_runs when k is the whole burst and
// it goes to at most two ports). b.pkts[k..) are untouched. WriteMeta:
// packet_meta written for the head as the parse stage would (a later stage
// reads it).
template <bool WriteMeta>
uint16_t forward_ipv4_head(const fib& f, burst& b) noexcept {
    using namespace parse_detail;
    const uint16_t n = b.count;
    std::array<uint32_t, max_burst> dst;  // host order
    std::array<uint8_t*, max_burst> frame;  // frame[k]: the Ethernet header of b.pkts[k]
    uint32_t max_total = 0;  // the longest IPv4 packet and
    bool padded = false;     // whether any frame has Ethernet padding
    uint16_t j = 0;
    for (; j < n; ++j) {
        rte_mbuf* const m = b.pkts[j];
        ipv4_fast_fields h;
        if (!ipv4_fast_check(m, h)) {
            break;
        }
        const uint32_t src = swap_be32(load32(h.ip + 12));
        const uint32_t d = swap_be32(load32(h.ip + 16));
        if (h.ip[8] <= 1 || martian_source4(src) || martian_destination4(d)) {
            break;
        }
        if constexpr (WriteMeta) {
            write_ipv4_fast_meta(m, h, *meta_of(m));
        }
        dst[j] = d;
        frame[j] = const_cast<uint8_t*>(h.ip) - eth_hdr_len;
        max_total = std::max(max_total, h.total);
        padded = padded || m->pkt_len != eth_hdr_len + h.total;
    }
    if (j == 0) {
        return 0;
    }
    std::array<uint64_t, max_burst> nh;
    rte_fib_lookup_bulk(f.fib4(), dst.data(), nh.data(), j);
    // Per-packet MTU and padding checks only when the burst needs them.
    const bool check_mtu = max_total > f.min_mtu();
    // In locals: the byte stores into the frames below may alias any memory.
    const next_hop* const hops = f.hops();
    const std::atomic<uint64_t>* const neighbors = f.neighbors().words();
    // The rewrite of the last two next hops seen (a burst mostly goes to a
    // few): the Ethernet header's two words, the egress port and its MTU.
    struct rewrite {
        uint64_t index = UINT64_MAX;
        uint64_t head = 0;
        uint64_t src_type = 0;
        uint16_t port = 0;
        uint16_t mtu = 0;
    };
    std::array<rewrite, 2> seen;
    unsigned next_slot = 0;
    // The forwarded head leaves grouped by egress port for TX (a stable
    // partition: the first packet's port first, compacted in place, the
    // others after it from other[]), port_runs set when it is the whole
    // burst and goes to at most two ports.
    std::array<rte_mbuf*, max_burst> other;
    uint16_t port0 = no_port;
    uint16_t port1 = no_port;
    unsigned n0 = 0;  // unsigned, not uint16_t: kept in registers
    unsigned n1 = 0;
    bool two_ports = true;
    unsigned k = 0;
    for (; k < j; ++k) {
        const uint64_t index = nh[k];
        const rewrite* r;
        if (index == seen[0].index) {
            r = &seen[0];
        } else if (index == seen[1].index) {
            r = &seen[1];
        } else {
            if (index == fib::fib_miss) {
                break;
            }
            const next_hop h = hops[index];
            if (h.kind != next_hop_kind::forward) {
                break;
            }
            const uint64_t nb = neighbors[h.neighbor].load(std::memory_order_acquire);
            if (!neighbor_table::usable(nb)) {
                break;
            }
            const fib_port& out = f.port(h.port);
            rewrite& w = seen[next_slot];
            next_slot ^= 1;
            w.index = index;
            w.src_type = out.eth_src_ipv4;
            w.head = (nb & 0xffffffffffffull) | w.src_type << 48;
            w.port = h.port;
            w.mtu = out.mtu;
            r = &w;
        }
        uint8_t* const eth = frame[k];
        if (check_mtu || padded) {
            rte_mbuf* const m = b.pkts[k];
            const uint32_t total = load_be16(eth + eth_hdr_len + 2);
            if (total > r->mtu) {
                break;
            }
            if (m->pkt_len > eth_hdr_len + total) {
                truncate_packet(m, eth_hdr_len + total);  // Ethernet padding
            }
        }
        ipv4_decrement_ttl(reinterpret_cast<rte_ipv4_hdr*>(eth + eth_hdr_len));
        // Destination MAC, then source MAC + EtherType: two overlapping
        // 8-byte stores from registers.
        std::memcpy(eth, &r->head, 8);
        std::memcpy(eth + 6, &r->src_type, 8);
        rte_mbuf* const m = b.pkts[k];
        const uint16_t p = r->port;
        m->port = p;
        port0 = k == 0 ? p : port0;
        if (p == port0) {
            b.pkts[n0++] = m;
        } else {
            other[n1++] = m;
            port1 = port1 == no_port ? p : port1;
            two_ports = two_ports && p == port1;
        }
    }
    // Inline (a libc memcpy call costs more than the copy of a few pointers).
    rte_memcpy(&b.pkts[n0], other.data(), n1 * sizeof other[0]);
    if (k == n && two_ports) {
        b.port_runs = {static_cast<uint16_t>(n0), static_cast<uint16_t>(n1)};
    }
    return static_cast<uint16_t>(k);
}

}  // namespace

void parse_route_stage::process(burst& b, stage_context& ctx) noexcept {
    const fib* f = ctx.table<fib>();
    b.out_port = no_port;
    b.port_runs = {};
    b.has_punts = false;
    const uint16_t fast = write_meta_ ? forward_ipv4_head<true>(*f, b) : forward_ipv4_head<false>(*f, b);
    if (fast == b.count) {
        return;
    }
    parse_burst(b, fast, ctx);
    route_burst(f, b, fast, ctx);
    if (b.has_punts) {
        // The responder reads the punt mark of every packet of a burst with
        // punts; the head forwarded above may have no metadata written.
        for (uint16_t i = 0; i < fast; ++i) {
            meta_of(b.pkts[i])->punt = punt_kind::none;
        }
    }
}

}  // namespace dpdk_app
