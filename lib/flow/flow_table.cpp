#include "flow/flow_table.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "packet/meta.hpp"

namespace dpdk_app {

namespace {

constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;
constexpr uint8_t proto_icmp = 1;
constexpr uint8_t proto_icmpv6 = 58;
constexpr uint8_t tcp_fin = 0x01;
constexpr uint8_t tcp_rst = 0x04;

std::atomic<uint64_t> table_serial{0};

bool has_ports(uint8_t proto) noexcept {
    return proto == proto_tcp || proto == proto_udp || proto == 132 /* SCTP */ ||
           proto == 136 /* UDP-Lite */;
}

// The key of an IPv4 / IPv6 packet the parse stage accepted.
void key_of(const packet_meta& pm, flow_key& k) noexcept {
    std::memset(&k, 0, sizeof k);
    const bool v6 = pm.l3 == l3_kind::ipv6;
    k.version = v6 ? 6 : 4;
    std::memcpy(k.src, pm.src_addr, v6 ? 16 : 4);
    std::memcpy(k.dst, pm.dst_addr, v6 ? 16 : 4);
    k.proto = pm.l4_proto;
    const bool l4 = (pm.flags & meta_l4_valid) != 0;
    if (l4 && has_ports(pm.l4_proto)) {
        k.sport = pm.src_port;
        k.dport = pm.dst_port;
    } else if (l4 && (pm.l4_proto == proto_icmp || pm.l4_proto == proto_icmpv6)) {
        k.dport = static_cast<uint16_t>(pm.icmp_type << 8 | pm.icmp_code);
    }
    k.in_port = pm.in_port;
    k.vlan = pm.vlan_count != 0 ? pm.vlan_outer : 0;
}

uint8_t dscp_of(const rte_mbuf* m, const packet_meta& pm) noexcept {
    uint8_t buf[2];
    const auto* l3 = static_cast<const uint8_t*>(rte_pktmbuf_read(m, pm.l2_len, 2, buf));
    if (l3 == nullptr) {
        return 0;
    }
    return pm.l3 == l3_kind::ipv6 ? static_cast<uint8_t>((l3[0] & 0x0f) << 2 | l3[1] >> 6)
                                  : static_cast<uint8_t>(l3[1] >> 2);
}

}  // namespace

void flow_top::insert(list& l, const flow_top_row& r, uint64_t flow_top_row::*field) noexcept {
    uint32_t at = l.count;
    if (at == n_) {
        if (r.*field <= l.rows[n_ - 1].*field) {
            return;  // most flows: one comparison
        }
        --at;
    }
    while (at > 0 && l.rows[at - 1].*field < r.*field) {
        l.rows[at] = l.rows[at - 1];
        --at;
    }
    l.rows[at] = r;
    if (l.count < n_) {
        ++l.count;
    }
}

void flow_top::offer(const flow_key& k, const flow_entry& e) noexcept {
    if (n_ == 0 || e.packets == 0) {
        return;
    }
    const bool octets = octets_.count < n_ || e.octets > octets_.rows[n_ - 1].octets;
    const bool packets = packets_.count < n_ || e.packets > packets_.rows[n_ - 1].packets;
    if (!octets && !packets) {
        return;
    }
    flow_top_row r;
    r.key = k;
    r.packets = e.packets;
    r.octets = e.octets;
    r.first = e.first;
    r.out_port = e.out_port;
    if (octets) {
        insert(octets_, r, &flow_top_row::octets);
    }
    if (packets) {
        insert(packets_, r, &flow_top_row::packets);
    }
}

void flow_top::publish(uint64_t now) noexcept {
    if (n_ == 0) {
        return;
    }
    // A sequence lock: readers retry while the count is odd or moved.
    const uint64_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    published_octets_.count = octets_.count;
    std::copy_n(octets_.rows.begin(), octets_.count, published_octets_.rows.begin());
    published_packets_.count = packets_.count;
    std::copy_n(packets_.rows.begin(), packets_.count, published_packets_.rows.begin());
    published_at_ = now;
    seq_.store(s + 2, std::memory_order_release);
    octets_.count = 0;
    packets_.count = 0;
}

uint64_t flow_top::read(std::vector<flow_top_row>& by_octets,
                        std::vector<flow_top_row>& by_packets) const {
    for (;;) {
        const uint64_t s1 = seq_.load(std::memory_order_acquire);
        if ((s1 & 1) != 0) {
            continue;
        }
        const uint32_t no = std::min(published_octets_.count, n_);
        const uint32_t np = std::min(published_packets_.count, n_);
        by_octets.assign(published_octets_.rows.begin(), published_octets_.rows.begin() + no);
        by_packets.assign(published_packets_.rows.begin(), published_packets_.rows.begin() + np);
        const uint64_t at = published_at_;
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq_.load(std::memory_order_relaxed) == s1) {
            return at;
        }
    }
}

flow_table::~flow_table() {
    rte_hash_free(hash_);
    rte_free(entries_);
}

std::unique_ptr<flow_table> flow_table::create(unsigned lane, uint32_t capacity,
                                               const flow_timeouts& t, flow_sink& sink,
                                               const tsc_clock& clock, uint32_t top,
                                               std::string& error) {
    if (capacity < 1024) {
        error = "a flow table holds at least 1024 flows";
        return nullptr;
    }
    std::unique_ptr<flow_table> f(new flow_table(sink, clock, top));
    f->capacity_ = capacity;
    f->timeouts_ = t;
    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof name, "flow_%u_%llu", lane,
                  static_cast<unsigned long long>(table_serial.fetch_add(1)));
    rte_hash_parameters p{};
    p.name = name;
    p.entries = 2 * capacity;  // at most half full: most keys in their first bucket
    p.key_len = sizeof(flow_key);
    p.hash_func = rte_hash_crc;
    p.socket_id = static_cast<int>(rte_socket_id());
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    f->hash_ = rte_hash_create(&p);
    if (f->hash_ == nullptr) {
        error = "cannot create a flow table of " + std::to_string(capacity) +
                " flows: " + rte_strerror(rte_errno);
        return nullptr;
    }
    f->slots_ = static_cast<uint32_t>(rte_hash_max_key_id(f->hash_)) + 1;
    f->entries_ = static_cast<flow_entry*>(
        rte_zmalloc("flows", f->slots_ * sizeof(flow_entry), RTE_CACHE_LINE_SIZE));
    if (f->entries_ == nullptr) {
        error = "cannot allocate " + std::to_string(f->slots_ * sizeof(flow_entry)) +
                " bytes of flow entries";
        return nullptr;
    }
    for (unsigned i = 0; i < max_burst; ++i) {
        f->key_ptrs_[i] = &f->keys_[i];
    }
    return f;
}

void flow_table::update(rte_mbuf* const* pkts, uint16_t n, uint64_t now, uint16_t out_port,
                        bool egress_known) noexcept {
    std::array<uint8_t, max_burst> at;  // burst index of each key
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        const packet_meta& pm = *meta_of(pkts[i]);
        if (pm.l3 != l3_kind::ipv4 && pm.l3 != l3_kind::ipv6) {
            continue;  // ARP and the rest: not flows
        }
        key_of(pm, keys_[k]);
        at[k++] = static_cast<uint8_t>(i);
    }
    if (k == 0) {
        return;
    }
    rte_hash_lookup_bulk(hash_, key_ptrs_.data(), k, positions_.data());
    // Every entry of the burst is fetched at once, not one miss after the
    // other in the loop below.
    uint32_t misses = 0;
    for (uint16_t j = 0; j < k; ++j) {
        if (positions_[j] >= 0) {
            rte_prefetch0(&entries_[positions_[j]]);
        } else {
            ++misses;
        }
    }
    if (used_ + misses > capacity_) {
        // An eviction may come: the flows this burst touches are no
        // candidates, their positions are in hand.
        for (uint16_t j = 0; j < k; ++j) {
            if (positions_[j] >= 0) {
                entries_[positions_[j]].last = now;
            }
        }
    }
    uint32_t made = 0, full = 0;
    for (uint16_t j = 0; j < k; ++j) {
        rte_mbuf* m = pkts[at[j]];
        const packet_meta& pm = *meta_of(m);
        int32_t pos = positions_[j];
        if (pos < 0) {
            // New, or made by an earlier packet of this burst.
            pos = rte_hash_lookup(hash_, &keys_[j]);
            if (pos < 0) {
                if (used_ >= capacity_ && !evict(now)) {
                    ++full;
                    continue;
                }
                pos = rte_hash_add_key(hash_, &keys_[j]);
                if (pos < 0) {
                    ++full;
                    continue;
                }
                flow_entry& e = entries_[pos];
                e = flow_entry{};
                e.used = 1;
                e.first = now;
                e.dscp = dscp_of(m, pm);
                ++used_;
                ++made;
            }
        }
        flow_entry& e = entries_[pos];
        if (e.packets == 0) {
            e.first = now;  // a new flow, or the next report of a long one
        }
        ++e.packets;
        e.octets += pm.l3_total;
        e.last = now;
        e.out_port = !egress_known ? no_port : out_port != no_port ? out_port : m->port;
        if (pm.l4_proto == proto_tcp && (pm.flags & meta_l4_valid) != 0) {
            e.tcp_flags |= pm.tcp_flags;
            if ((pm.tcp_flags & (tcp_fin | tcp_rst)) != 0 && e.fin_at == 0) {
                e.fin_at = now;
            }
        }
    }
    if (made != 0) {
        created_.add(made);
        live_.set(used_);
    }
    if (full != 0) {
        full_.add(full);
    }
}

bool flow_table::evict(uint64_t now) noexcept {
    for (uint32_t i = 0; i < evict_scan; ++i) {
        const uint32_t pos = cursor_;
        advance_cursor(now);
        const flow_entry& e = entries_[pos];
        if (e.used != 0 && e.last != now) {
            evicted_.inc();
            finish(pos, flow_end_reason::lack_of_resources);
            return true;
        }
    }
    return false;
}

void flow_table::advance_cursor(uint64_t now) noexcept {
    if (++cursor_ == slots_) {
        cursor_ = 0;
        top_.publish(now);  // a whole pass: every live flow was offered
    }
}

bool flow_table::report(uint32_t pos, flow_end_reason why) noexcept {
    void* stored = nullptr;
    if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) != 0) {
        return false;
    }
    flow_key key;
    std::memcpy(&key, stored, sizeof key);
    const flow_entry& e = entries_[pos];
    flow_record r;
    r.ip_version = key.version;
    r.proto = key.proto;
    r.tcp_flags = e.tcp_flags;
    r.dscp = e.dscp;
    std::memcpy(r.src.data(), key.src, 16);
    std::memcpy(r.dst.data(), key.dst, 16);
    r.sport = key.sport;
    r.dport = key.dport;
    r.in_if = key.in_port;
    r.out_if = e.out_port;
    r.vlan = key.vlan;
    r.packets = e.packets;
    r.octets = e.octets;
    r.first_ms = clock_.ms(e.first);
    r.last_ms = clock_.ms(e.last);
    r.end = why;
    return sink_.put(r);
}

bool flow_table::finish(uint32_t pos, flow_end_reason why) noexcept {
    const bool sent = report(pos, why);
    (sent ? ended_ : lost_).inc();
    remove(pos);
    return sent;
}

void flow_table::remove(uint32_t pos) noexcept {
    void* stored = nullptr;
    if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) == 0) {
        flow_key key;
        std::memcpy(&key, stored, sizeof key);
        rte_hash_del_key(hash_, &key);
    }
    entries_[pos].used = 0;
    --used_;
    live_.set(used_);
}

uint32_t flow_table::expire(uint64_t now, uint32_t n) noexcept {
    uint32_t reported = 0;
    n = std::min(n, slots_);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t pos = cursor_;
        advance_cursor(now);
        flow_entry& e = entries_[pos];
        if (e.used == 0) {
            continue;
        }
        if (e.fin_at != 0 && now - e.fin_at >= timeouts_.linger) {
            reported += finish(pos, flow_end_reason::end_of_flow);
        } else if (now - e.last >= timeouts_.inactive) {
            reported += finish(pos, flow_end_reason::idle_timeout);
        } else if (now - e.first >= timeouts_.active && e.packets > 0) {
            // A long flow: reported, and counted again from zero.
            const bool sent = report(pos, flow_end_reason::active_timeout);
            (sent ? reports_ : reports_lost_).inc();
            reported += sent;
            e.packets = 0;
            e.octets = 0;
            e.tcp_flags = 0;
            e.first = now;
        } else if (top_.size() != 0) {
            void* stored = nullptr;
            if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) == 0) {
                top_.offer(*static_cast<const flow_key*>(stored), e);
            }
        }
    }
    return reported;
}

uint32_t flow_table::drain() noexcept {
    uint32_t reported = 0;
    for (uint32_t pos = 0; pos < slots_ && used_ > 0; ++pos) {
        if (entries_[pos].used != 0) {
            reported += finish(pos, flow_end_reason::forced_end);
        }
    }
    return reported;
}

}  // namespace dpdk_app
