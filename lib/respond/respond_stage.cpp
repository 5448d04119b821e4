#include "respond/respond_stage.hpp"

#include <cstddef>
#include <cstring>

#if defined(__SSE4_1__)
#include <immintrin.h>
#endif

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "packet/meta.hpp"
#include "packet/checksum.hpp"
#include "packet/parse_fast.hpp"
#include "parse/parse_stage.hpp"
#include "packet/rewrite.hpp"
#include "respond/build.hpp"

namespace dpdk_app {

namespace {

constexpr uint8_t icmp6_echo_request = 128;
constexpr uint8_t icmp6_ns = 135;
constexpr uint8_t icmp6_na = 136;

uint32_t source_hash(const packet_meta& pm) noexcept {
    uint32_t w[4];
    std::memcpy(w, pm.src_addr, 16);
    const uint32_t x = pm.l3 == l3_kind::ipv4 ? w[0] : (w[0] ^ w[1] ^ w[2] ^ w[3]);
    return (x * 2654435761u) >> 24;
}

bool on_port4(const fib_port& p, uint32_t ip) noexcept {
    for (uint32_t a : p.addr4) {
        if (a == ip) {
            return true;
        }
    }
    return false;
}

bool on_port6(const fib_port& p, const uint8_t* ip) noexcept {
    for (const auto& a : p.addr6) {
        if (std::memcmp(a.data(), ip, 16) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

responder_settings responder_settings_from(const app_config& config) noexcept {
    responder_settings s;
    s.router = config.mode == forwarding_mode::router;
    s.limits.rate = config.responder.error_rate;
    s.limits.burst = config.responder.error_burst;
    s.limits.rate_per_source = config.responder.error_rate_per_source;
    s.limits.burst_per_source = config.responder.error_burst_per_source;
    return s;
}

respond_stage::respond_stage(slow_path* sp, unsigned lane, const responder_settings& settings,
                             uint64_t tsc_hz) noexcept
    : slow_(sp),
      lane_(lane),
      router_(settings.router),
      limiter_(settings.limits, tsc_hz) {}

punt_kind respond_stage::classify_bridge(const rte_mbuf* m, const packet_meta& pm,
                                         const fib& f) const noexcept {
    if (pm.vlan_count != 0) {
        return punt_kind::none;  // the appliance's addresses are untagged
    }
    switch (pm.l3) {
        case l3_kind::arp:
            return headers_contiguous(m, pm.l2_len + 28u) &&
                           f.owns4(arp_header(m, pm)->arp_data.arp_tip)
                       ? punt_kind::arp
                       : punt_kind::none;
        case l3_kind::ipv4:
            return f.owns4(meta_dst_ipv4(pm)) ? punt_kind::local : punt_kind::none;
        case l3_kind::ipv6:
            if (f.owns6(pm.dst_addr)) {
                return punt_kind::local;
            }
            // A neighbour solicitation to a solicited-node group for one of ours.
            if (pm.dst_addr[0] == 0xff && pm.l4_proto == IPPROTO_ICMPV6 &&
                (pm.flags & meta_l4_valid) != 0 && pm.icmp_type == icmp6_ns &&
                headers_contiguous(m, pm.l2_len + pm.l3_len + 24u) &&
                pm.l3_total >= pm.l3_len + 24u) {
                const uint8_t* target =
                    rte_pktmbuf_mtod_offset(m, const uint8_t*, pm.l2_len + pm.l3_len + 8);
                return f.owns6(target) ? punt_kind::local : punt_kind::none;
            }
            return punt_kind::none;
        default:
            return punt_kind::none;
    }
}

void respond_stage::learn(const uint8_t* address, bool v6, const uint8_t* mac, uint16_t port,
                          bool targeted, stage_context& ctx) noexcept {
    if (!router_ || slow_ == nullptr) {
        return;  // a bridge resolves nothing
    }
    learn_message msg;
    msg.v6 = v6 ? 1 : 0;
    msg.port = static_cast<uint8_t>(port);
    msg.targeted = targeted ? 1 : 0;
    std::memcpy(msg.mac, mac, 6);
    std::memcpy(msg.address, address, v6 ? 16 : 4);
    if (rte_ring_sp_enqueue_elem(slow_->learn(lane_), &msg, sizeof msg) != 0) {
        ctx.count(event::learn_queue_full);
    }
}

bool respond_stage::handle_arp(rte_mbuf* m, const packet_meta& pm, const fib& f,
                               stage_context& ctx) noexcept {
    if (!headers_contiguous(m, pm.l2_len + 28u)) {
        ctx.drop(m, drop_reason::arp_truncated);
        return false;
    }
    if (auto why = arp_check(m, pm)) {
        ctx.drop(m, *why);
        return false;
    }
    const rte_arp_hdr* a = arp_header(m, pm);
    const fib_port& port = f.port(pm.in_port);
    const uint32_t sip = a->arp_data.arp_sip;
    const uint32_t tip = a->arp_data.arp_tip;
    if (f.owns4(sip)) {
        // Someone else claims one of our addresses (our own announcements
        // never come back: they leave through TX only).
        ctx.drop(m, drop_reason::arp_address_conflict);
        return false;
    }
    const bool for_us = router_ ? on_port4(port, tip) : f.owns4(tip);
    const bool gratuitous = sip == tip;
    if (sip != 0 && (for_us || gratuitous)) {
        learn(reinterpret_cast<const uint8_t*>(&sip), false, a->arp_data.arp_sha.addr_bytes,
              pm.in_port, for_us, ctx);
    }
    if (!for_us) {
        ctx.drop(m, drop_reason::arp_not_for_us);
        return false;
    }
    if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
        arp_reply_in_place(m, pm, port.mac);
        ctx.reuse_consumed(m);
        ctx.count(event::arp_replies);
        return true;
    }
    ctx.consume(m);  // a reply to one of our requests: learned above
    return false;
}

bool respond_stage::send_reset(rte_mbuf* m, const packet_meta& pm, const fib& f,
                               stage_context& ctx) noexcept {
    // The rules of ICMP errors hold for RSTs too: never to a broadcast or
    // multicast packet or to a source that is not a unicast host, within
    // the same rate limits; and never about a RST.
    const error_rule rule = may_send_error(m, pm, false);
    if (rule != error_rule::send) {
        ctx.count(rule == error_rule::multicast ? event::errors_not_sent_multicast
                                                : event::errors_not_sent_bad_source);
        ctx.drop(m, drop_reason::rejected);
        return false;
    }
    if (pm.vlan_count != 0) {
        ctx.count(event::errors_not_sent_no_address);
        ctx.drop(m, drop_reason::rejected);
        return false;
    }
    if (!limiter_.allow(source_hash(pm), ctx.now())) {
        ctx.count(event::errors_rate_limited);
        ctx.drop(m, drop_reason::rejected);
        return false;
    }
    if (!tcp_reset_in_place(m, pm, f.port(pm.in_port).mac)) {
        ctx.count(event::errors_not_sent_about_error);  // a RST is not answered
        ctx.drop(m, drop_reason::rejected);
        return false;
    }
    ctx.reuse_dropped(m, drop_reason::rejected);
    ctx.count(event::tcp_resets);
    return true;
}

bool respond_stage::send_error(rte_mbuf* m, const packet_meta& pm, const fib& f,
                               stage_context& ctx, drop_reason why, event what, uint8_t type4,
                               uint8_t code4, uint8_t type6, uint8_t code6, uint32_t rest,
                               bool too_big) noexcept {
    static constexpr event not_sent[] = {
        event::errors_rate_limited,          // send: unused
        event::errors_not_sent_about_error,  // about_error
        event::errors_not_sent_multicast,    // multicast
        event::errors_not_sent_fragment,     // fragment
        event::errors_not_sent_bad_source,   // bad_source
    };
    const error_rule rule = may_send_error(m, pm, too_big);
    if (rule != error_rule::send) {
        ctx.count(not_sent[static_cast<std::size_t>(rule)]);
        ctx.drop(m, why);
        return false;
    }
    const fib_port& port = f.port(pm.in_port);
    const bool v6 = pm.l3 == l3_kind::ipv6;
    if ((v6 ? port.addr6.empty() : port.addr4.empty()) || pm.vlan_count != 0 ||
        !room_for_error(m, pm)) {
        ctx.count(event::errors_not_sent_no_address);
        ctx.drop(m, why);
        return false;
    }
    if (!limiter_.allow(source_hash(pm), ctx.now())) {
        ctx.count(event::errors_rate_limited);
        ctx.drop(m, why);
        return false;
    }
    if (v6) {
        icmp6_error_in_place(m, pm, type6, code6, rest, port.addr6.front().data(), port.mac);
    } else {
        icmp4_error_in_place(m, pm, type4, code4, rest, port.addr4.front(), port.mac);
    }
    ctx.reuse_dropped(m, why);
    ctx.count(what);
    return true;
}

bool respond_stage::handle_icmp6(rte_mbuf* m, const packet_meta& pm, const fib& f,
                                 stage_context& ctx) noexcept {
    const bool multicast = pm.dst_addr[0] == 0xff;
    if (pm.icmp_type == icmp6_ns || pm.icmp_type == icmp6_na) {
        ndp_message nd;
        if (auto why = ndp_check(m, pm, nd)) {
            ctx.drop(m, *why);
            return false;
        }
        const fib_port& port = f.port(pm.in_port);
        const bool ours = router_ ? on_port6(port, nd.target) : f.owns6(nd.target);
        if (pm.icmp_type == icmp6_na) {
            if (nd.link_address != nullptr) {
                learn(nd.target, true, nd.link_address, pm.in_port, nd.solicited, ctx);
            }
            if (ours) {
                ctx.drop(m, drop_reason::arp_address_conflict);  // someone defends our address
                return false;
            }
            ctx.consume(m);
            return false;
        }
        if (!ours) {
            ctx.drop(m, drop_reason::not_for_us_multicast);
            return false;
        }
        if (nd.link_address != nullptr) {
            learn(pm.src_addr, true, nd.link_address, pm.in_port, true, ctx);
        }
        ndp_advertisement_in_place(m, pm, nd.target, port.mac, router_);
        ctx.reuse_consumed(m);
        ctx.count(event::neighbor_advertisements);
        return true;
    }
    if (multicast) {
        ctx.drop(m, drop_reason::not_for_us_multicast);  // RS, MLD, ... to a group
        return false;
    }
    if (pm.icmp_type == icmp6_echo_request) {
        if (!icmp_checksum_ok(m, pm)) {
            ctx.drop(m, drop_reason::icmp_bad_checksum);
            return false;
        }
        icmp6_echo_reply_in_place(m, pm, f.port(pm.in_port).mac);
        ctx.reuse_consumed(m);
        ctx.count(event::echo6_replies);
        return true;
    }
    ctx.consume(m);  // echo replies, errors about our own packets, ...
    return false;
}

bool respond_stage::handle_local(rte_mbuf* m, const packet_meta& pm, const fib& f,
                                 stage_context& ctx) noexcept {
    if ((pm.flags & meta_fragment) != 0) {
        ctx.drop(m, drop_reason::fragment_for_us);
        return false;
    }
    const bool l4 = (pm.flags & meta_l4_valid) != 0;
    const uint32_t l4_end = static_cast<uint32_t>(pm.l2_len) + pm.l3_len + 8u;
    if (pm.l3 == l3_kind::ipv4 && l4 && pm.l4_proto == IPPROTO_ICMP) {
        if (pm.icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
            ctx.consume(m);
            return false;
        }
        if (!headers_contiguous(m, l4_end) || !icmp_checksum_ok(m, pm)) {
            ctx.drop(m, drop_reason::icmp_bad_checksum);
            return false;
        }
        icmp4_echo_reply_in_place(m, pm, f.port(pm.in_port).mac);
        ctx.reuse_consumed(m);
        ctx.count(event::echo_replies);
        return true;
    }
    if (pm.l3 == l3_kind::ipv6 && l4 && pm.l4_proto == IPPROTO_ICMPV6) {
        if (!headers_contiguous(m, l4_end)) {
            ctx.drop(m, drop_reason::ndp_invalid);
            return false;
        }
        return handle_icmp6(m, pm, f, ctx);
    }
    if (pm.dst_addr[0] == 0xff) {
        ctx.drop(m, drop_reason::not_for_us_multicast);
        return false;
    }
    if (l4 && pm.l4_proto == IPPROTO_UDP) {
        return send_error(m, pm, f, ctx, drop_reason::no_local_service,
                          event::errors_unreachable_port, 3, 3, 1, 4, 0, false);
    }
    ctx.drop(m, drop_reason::no_local_service);  // TCP and the rest: no service here
    return false;
}

namespace {

// Tells an unfragmented, untagged IPv4 echo request from everything else by
// bytes 8..23 of packet_meta (flags .. punt) under a mask: one 16-byte
// compare where SSE4.1 is there, two 8-byte ones otherwise.
class echo4_signature {
  public:
    explicit echo4_signature(punt_kind punt) noexcept {
        packet_meta want{};
        want.flags = meta_l4_valid;
        want.l3 = l3_kind::ipv4;
        want.l4_proto = IPPROTO_ICMP;
        want.icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
        want.punt = punt;
        packet_meta mask{};
        mask.flags = meta_l4_valid | meta_fragment;
        mask.vlan_count = 0xff;
        mask.l3 = static_cast<l3_kind>(0xff);
        mask.l4_proto = 0xff;
        mask.icmp_type = 0xff;
        mask.punt = static_cast<punt_kind>(0xff);
        std::memcpy(want_, bytes_of(want), 16);
        std::memcpy(mask_, bytes_of(mask), 16);
    }
    bool matches(const packet_meta& pm) const noexcept {
#if defined(__SSE4_1__)
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes_of(pm)));
        const __m128i want = _mm_loadu_si128(reinterpret_cast<const __m128i*>(want_));
        const __m128i mask = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mask_));
        return _mm_testz_si128(_mm_xor_si128(v, want), mask) != 0;
#else
        uint64_t v[2];
        uint64_t want[2];
        uint64_t mask[2];
        std::memcpy(v, bytes_of(pm), 16);
        std::memcpy(want, want_, 16);
        std::memcpy(mask, mask_, 16);
        return ((v[0] ^ want[0]) & mask[0]) == 0 && ((v[1] ^ want[1]) & mask[1]) == 0;
#endif
    }

  private:
    static const uint8_t* bytes_of(const packet_meta& pm) noexcept {
        return reinterpret_cast<const uint8_t*>(&pm) + offsetof(packet_meta, flags);
    }
    static_assert(offsetof(packet_meta, punt) - offsetof(packet_meta, flags) == 15,
                  "the signature covers flags .. punt");
    alignas(16) uint8_t want_[16];
    alignas(16) uint8_t mask_[16];
};

// Built once at start-up, not per burst.
const echo4_signature bridge_echo4(punt_kind::none);   // bridge: not marked yet
const echo4_signature router_echo4(punt_kind::local);  // router: marked by the route stage

// The ping-flood fast path: an untagged, unfragmented IPv4 echo request
// (the caller checked the metadata) whose ICMP message lies in the first
// segment with a right checksum becomes its reply in place, as
// icmp4_echo_reply_in_place would write it, the Ethernet header with two
// 8-byte moves (eth_src: fib_port::eth_src_ipv4; in_port: where the reply
// leaves). False (m untouched) otherwise.
// l3_len: the IPv4 header's length; total: the packet's (IPv4 total length).
inline bool echo4_reply_fast(rte_mbuf* m, uint32_t l3_len, uint32_t total, uint64_t eth_src,
                             uint16_t in_port) noexcept {
    constexpr uint32_t l2 = RTE_ETHER_HDR_LEN;  // untagged
    if (l2 + total > rte_pktmbuf_data_len(m)) {
        return false;
    }
    uint8_t* const eth = rte_pktmbuf_mtod(m, uint8_t*);
    uint8_t* const ip = eth + l2;
    uint8_t* const icmp = ip + l3_len;
    if (!ones_complement_ok(icmp, total - l3_len)) {
        return false;
    }
    // Destination = the request's source; source = us, EtherType kept.
    uint64_t w;
    std::memcpy(&w, eth + 6, 8);
    std::memcpy(eth, &w, 8);
    std::memcpy(eth + 6, &eth_src, 8);
    icmp4_echo_rewrite(ip, icmp);
    if (m->pkt_len > l2 + total) {
        truncate_packet(m, l2 + total);  // Ethernet padding
    }
    m->port = in_port;
    return true;
}

}  // namespace

void respond_stage::process(burst& b, stage_context& ctx) noexcept {
    process_from(b, 0, ctx);
}

void respond_stage::process_from(burst& b, uint16_t from, stage_context& ctx) noexcept {
    const fib* f = ctx.table<fib>();
    if (f == nullptr || (!b.has_punts && (router_ || !f->has_addresses()))) {
        return;
    }
    const uint16_t n = b.count;
    b.port_runs = {};  // replies change egress and the burst's runs
    // The first `from` packets are replies already (the caller sends the
    // burst back out of its arrival port): kept, generated, counted here.
    uint16_t kept = from;
    // A burst sent back out of the port it came from (a one-armed
    // appliance) already sends replies the right way: no per-packet egress.
    bool materialized = b.out_port == no_port || b.out_port == b.in_port;
    uint16_t generated = from;  // packets of this burst turned into replies
    uint32_t echo_replies = from;
    // An untagged, unfragmented IPv4 echo request: marked local by the route
    // stage (router) or not marked yet (bridge: its address is checked here).
    const echo4_signature& echo4_sig = router_ ? router_echo4 : bridge_echo4;
    uint16_t i = from;
    if (materialized && b.in_port != no_port && (router_ || !f->local4().empty())) {
        // The ping-flood loop: answers echo requests in place until the first
        // packet that is anything else, which the loop below takes from
        // there. Everything it reads more than once is in locals (the byte
        // stores into the frames may alias any memory).
        const uint16_t rx_port = b.in_port;
        const uint64_t eth_src = f->port(rx_port).eth_src_ipv4;
        const uint64_t generated_mask = generated_flag();
        const bool router = router_;
        const uint32_t* const own = f->local4().data();
        const std::size_t n_own = f->local4().size();
        const uint32_t own0 = router ? 0 : own[0];  // (a bridge here has an IPv4 address)
        for (; i < n; ++i) {
            rte_mbuf* m = b.pkts[i];
            packet_meta& pm = *meta_of(m);
            if (!echo4_sig.matches(pm)) {
                break;
            }
            if (!router && meta_dst_ipv4(pm) != own0) {
                const uint32_t dst = meta_dst_ipv4(pm);
                std::size_t k = 1;
                while (k < n_own && own[k] != dst) {
                    ++k;
                }
                if (k == n_own) {
                    break;
                }
            }
            if (!echo4_reply_fast(m, pm.l3_len, pm.l3_total, eth_src, rx_port)) {
                break;
            }
            m->ol_flags |= generated_mask;  // mark_generated
            if (router) {
                pm.punt = punt_kind::none;  // (a bridge's were none already)
            }
        }
        kept = i;
        generated = i;
        echo_replies = i;
    }
    for (; i < n; ++i) {
        rte_mbuf* m = b.pkts[i];
        packet_meta& pm = *meta_of(m);
        const bool echo4 = echo4_sig.matches(pm) && (router_ || f->owns4(meta_dst_ipv4(pm)));
        const punt_kind kind =
            echo4 ? punt_kind::local
                  : (pm.punt != punt_kind::none || router_ ? pm.punt : classify_bridge(m, pm, *f));
        if (kind == punt_kind::none) {
            b.pkts[kept++] = m;
            continue;
        }
        if (!materialized) {
            // Replies leave by their arrival port: the burst's single egress
            // becomes per packet (for the packets still in it).
            for (uint16_t k = 0; k < kept; ++k) {
                b.pkts[k]->port = b.out_port;
            }
            for (uint16_t k = i; k < n; ++k) {
                b.pkts[k]->port = b.out_port;
            }
            b.out_port = no_port;
            materialized = true;
        }
        pm.punt = punt_kind::none;
        // Fast path of a ping flood: its ICMP message in the first segment,
        // checksum right; counted once per burst below.
        if (echo4 && echo4_reply_fast(m, pm.l3_len, pm.l3_total, f->port(pm.in_port).eth_src_ipv4,
                                      pm.in_port)) {
            mark_generated(m);
            ++echo_replies;
            b.pkts[kept++] = m;
            ++generated;
            continue;
        }
        bool keep = false;
        switch (kind) {
            case punt_kind::arp:
                keep = handle_arp(m, pm, *f, ctx);
                break;
            case punt_kind::local:
                keep = handle_local(m, pm, *f, ctx);
                break;
            case punt_kind::ttl_exceeded:
                keep = send_error(m, pm, *f, ctx, drop_reason::ttl_exceeded,
                                  event::errors_time_exceeded, 11, 0, 3, 0, 0, false);
                break;
            case punt_kind::no_route:
                keep = send_error(m, pm, *f, ctx, drop_reason::no_route,
                                  event::errors_unreachable_net, 3, 0, 1, 0, 0, false);
                break;
            case punt_kind::too_big:
                if (pm.l3 == l3_kind::ipv4 && (pm.flags & meta_ipv4_df) == 0) {
                    ctx.drop(m, drop_reason::mtu_exceeded);  // no fragmentation here
                } else {
                    keep = send_error(m, pm, *f, ctx, drop_reason::mtu_exceeded,
                                      event::errors_too_big, 3, 4, 2, 0, pm.punt_arg, true);
                }
                break;
            case punt_kind::prohibited:
                keep = (pm.l4_proto == IPPROTO_TCP && (pm.flags & meta_l4_valid) != 0 &&
                        (pm.flags & meta_fragment) == 0)
                           ? send_reset(m, pm, *f, ctx)
                           : send_error(m, pm, *f, ctx, drop_reason::rejected,
                                        event::errors_prohibited, 3, 13, 1, 1, 0, false);
                break;
            case punt_kind::unresolved:
                pm.punt = punt_kind::unresolved;  // the control thread reads it
                if (slow_ == nullptr || rte_ring_sp_enqueue(slow_->punt(lane_), m) != 0) {
                    ctx.drop(m, drop_reason::neighbor_queue_full);
                }
                break;
            case punt_kind::none:
                break;
        }
        if (keep) {
            b.pkts[kept++] = m;
            ++generated;
        }
    }
    b.count = kept;
    b.has_punts = false;
    b.has_generated = b.has_generated || generated != 0;
    b.all_generated = kept != 0 && generated == kept;  // then TX need not look at the flags
    ctx.reuse_consumed_bulk(echo_replies);
    ctx.count(event::echo_replies, echo_replies);
}

namespace {

// The fused bridge stage's head: answers in place the echo requests for the
// appliance's IPv4 addresses at the head of b, whose packets go back out of
// b.in_port, as process()'s ping-flood loop would after the parse stage.
// Returns how many; they are flagged generated, not counted yet.
uint16_t answer_echo4_head(const fib& f, burst& b) noexcept {
    using namespace parse_detail;
    const uint16_t rx_port = b.in_port;
    const uint64_t eth_src = f.port(rx_port).eth_src_ipv4;
    const uint64_t generated_mask = generated_flag();
    const uint32_t* const own = f.local4().data();
    const std::size_t n_own = f.local4().size();
    uint16_t k = 0;
    for (; k < b.count; ++k) {
        rte_mbuf* const m = b.pkts[k];
        ipv4_fast_fields h;
        if (!ipv4_fast_check(m, h) || h.proto != proto_icmp || !h.l4_valid ||
            h.icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
            break;
        }
        const uint32_t dst = load32(h.ip + 16);
        std::size_t o = 0;
        while (o < n_own && own[o] != dst) {
            ++o;
        }
        if (o == n_own || !echo4_reply_fast(m, ipv4_min_len, h.total, eth_src, rx_port)) {
            break;
        }
        m->ol_flags |= generated_mask;  // mark_generated
    }
    return k;
}

}  // namespace

void parse_bridge_respond_stage::process(burst& b, stage_context& ctx) noexcept {
    const fib* f = ctx.table<fib>();
    uint16_t head = 0;
    if (f != nullptr && !f->local4().empty() && b.in_port < max_ports &&
        bridge_.peer(b.in_port) == b.in_port) {
        head = answer_echo4_head(*f, b);
    }
    parse_burst(b, head, ctx);
    bridge_.process(b, ctx);  // one-armed: the whole burst back out of in_port
    respond_.process_from(b, head, ctx);
}

}  // namespace dpdk_app
