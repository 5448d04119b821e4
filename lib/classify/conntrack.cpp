#include "classify/conntrack.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

namespace dpdk_app {

namespace {

constexpr uint8_t tcp_fin = 0x01;
constexpr uint8_t tcp_syn = 0x02;
constexpr uint8_t tcp_rst = 0x04;
constexpr uint8_t tcp_ack = 0x10;

constexpr uint8_t proto_icmp = 1;
constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;
constexpr uint8_t proto_icmpv6 = 58;
constexpr uint8_t proto_sctp = 132;
constexpr uint8_t proto_udplite = 136;

constexpr uint8_t echo_request = 1;
constexpr uint8_t echo_reply = 2;

// Flag combinations no TCP connection sends: SYN with RST or FIN, no flag
// at all, FIN without ACK.
bool tcp_flags_valid(uint8_t f) noexcept {
    f &= tcp_fin | tcp_syn | tcp_rst | tcp_ack;
    if ((f & tcp_syn) != 0 && (f & (tcp_rst | tcp_fin)) != 0) {
        return false;
    }
    return f != 0 && !((f & tcp_fin) != 0 && (f & tcp_ack) == 0);
}

bool syn_only(uint8_t f) noexcept {
    return (f & (tcp_syn | tcp_ack)) == tcp_syn;
}

bool has_ports(uint8_t proto) noexcept {
    return proto == proto_tcp || proto == proto_udp || proto == proto_sctp ||
           proto == proto_udplite;
}

bool is_icmp_error(bool v6, uint8_t type) noexcept {
    return v6 ? type >= 1 && type <= 4
              : type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

uint8_t echo_of(bool v6, uint8_t type) noexcept {
    if (type == (v6 ? 128 : 8)) {
        return echo_request;
    }
    return type == (v6 ? 129 : 0) ? echo_reply : 0;
}

// Writes the normalised key: the lower (address, port) first. Addresses
// in network order, ports in host order.
template <class Key, std::size_t N>
bool order_key(Key& k, const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport,
               uint8_t proto) noexcept {
    std::memset(&k, 0, sizeof(k));
    int c;
    if constexpr (N == 4) {
        // Integer compare (a memcmp call here is a tenth of a lookup).
        uint32_t s;
        uint32_t d;
        std::memcpy(&s, src, 4);
        std::memcpy(&d, dst, 4);
        s = __builtin_bswap32(s);
        d = __builtin_bswap32(d);
        c = s < d ? -1 : s > d ? 1 : 0;
    } else {
        c = std::memcmp(src, dst, N);
    }
    const bool src_lo = c < 0 || (c == 0 && sport <= dport);
    std::memcpy(&k.addr_lo, src_lo ? src : dst, N);
    std::memcpy(&k.addr_hi, src_lo ? dst : src, N);
    k.port_lo = src_lo ? sport : dport;
    k.port_hi = src_lo ? dport : sport;
    k.proto = proto;
    return src_lo;
}

template <class Key>
constexpr std::size_t addr_len = sizeof(Key::addr_lo);

// The key of a packet given by its fields: returns whether src is lo.
template <class Key>
bool key_of(Key& k, const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport,
            uint8_t proto) noexcept {
    return order_key<Key, addr_len<Key>>(k, src, dst, sport, dport, proto);
}

uint16_t be16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// The key of the packet an ICMP error quotes (its IP header and the first
// 8 bytes after it). false: the quote is too short or of another family.
template <class Key>
bool quoted_key(const rte_mbuf* m, const packet_meta& pm, bool v6, Key& k) noexcept {
    const uint32_t at = pm.l2_len + pm.l3_len + 8;
    uint8_t buf[60 + 8];
    if (v6) {
        const auto* q = static_cast<const uint8_t*>(rte_pktmbuf_read(m, at, 48, buf));
        if (q == nullptr || (q[0] >> 4) != 6) {
            return false;
        }
        const uint8_t proto = q[6];
        const uint8_t* l4 = q + 40;
        uint16_t sport = 0;
        uint16_t dport = 0;
        if (has_ports(proto)) {
            sport = be16(l4);
            dport = be16(l4 + 2);
        } else if (proto == proto_icmpv6) {
            if (echo_of(true, l4[0]) == 0) {
                return false;
            }
            sport = dport = be16(l4 + 4);
        }
        key_of(k, q + 8, q + 24, sport, dport, proto);
        return true;
    }
    const auto* h = static_cast<const uint8_t*>(rte_pktmbuf_read(m, at, 1, buf));
    if (h == nullptr || (h[0] >> 4) != 4 || (h[0] & 0x0f) < 5) {
        return false;
    }
    const uint32_t ihl = (h[0] & 0x0fu) * 4;
    const auto* q = static_cast<const uint8_t*>(rte_pktmbuf_read(m, at, ihl + 8, buf));
    if (q == nullptr) {
        return false;
    }
    const uint8_t proto = q[9];
    const uint8_t* l4 = q + ihl;
    uint16_t sport = 0;
    uint16_t dport = 0;
    if (has_ports(proto)) {
        sport = be16(l4);
        dport = be16(l4 + 2);
    } else if (proto == proto_icmp) {
        if (echo_of(false, l4[0]) == 0) {
            return false;
        }
        sport = dport = be16(l4 + 4);
    }
    key_of(k, q + 12, q + 16, sport, dport, proto);
    return true;
}

// probe() of one packet: its kind, direction and key.
template <class Key>
void probe_one(const rte_mbuf* m, bool v6, Key& k, ct_probe& p) noexcept {
    const packet_meta& pm = *meta_of(const_cast<rte_mbuf*>(m));
    p.v6 = v6;
    p.proto = pm.l4_proto;
    p.tcp_flags = 0;
    p.icmp_echo = 0;
    p.pos = -1;
    p.kind = ct_kind::untracked;
    p.src_is_lo = true;
    if ((pm.flags & meta_fragment) != 0) {
        return;  // no reassembly: fragments are not tracked
    }
    const bool l4 = (pm.flags & meta_l4_valid) != 0;
    const uint8_t icmp = v6 ? proto_icmpv6 : proto_icmp;
    if (pm.l4_proto == icmp) {
        if (!l4) {
            return;
        }
        if (is_icmp_error(v6, pm.icmp_type)) {
            p.kind = quoted_key(m, pm, v6, k) ? ct_kind::error : ct_kind::invalid;
            return;
        }
        p.icmp_echo = echo_of(v6, pm.icmp_type);
        if (p.icmp_echo == 0) {
            return;  // other ICMP (NDP, router advertisements, ...): untracked
        }
        uint8_t buf[2];
        const auto* id = static_cast<const uint8_t*>(
            rte_pktmbuf_read(m, pm.l2_len + pm.l3_len + 4, 2, buf));
        if (id == nullptr) {
            return;
        }
        p.src_is_lo = key_of(k, pm.src_addr, pm.dst_addr, be16(id), be16(id), pm.l4_proto);
        p.kind = ct_kind::track;
        return;
    }
    if (pm.l4_proto == proto_tcp) {
        if (!l4) {
            return;
        }
        p.tcp_flags = pm.tcp_flags;
        if (!tcp_flags_valid(pm.tcp_flags)) {
            p.kind = ct_kind::invalid;
            return;
        }
    }
    const bool ports = l4 && has_ports(pm.l4_proto);
    p.src_is_lo = key_of(k, pm.src_addr, pm.dst_addr, ports ? pm.src_port : uint16_t{0},
                         ports ? pm.dst_port : uint16_t{0}, pm.l4_proto);
    p.kind = ct_kind::track;
}

std::atomic<uint64_t> table_serial{0};

template <class Key>
rte_hash* make_hash(const char* family, unsigned lane, uint32_t capacity, std::string& error) {
    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof(name), "ct%s_%u_%llu", family, lane,
                  static_cast<unsigned long long>(table_serial.fetch_add(1)));
    rte_hash_parameters params{};
    params.name = name;
    // Twice the capacity (the count of connections is held to the
    // capacity by insert()): a table at most half full finds most keys in
    // their first bucket.
    params.entries = 2 * capacity;
    params.key_len = sizeof(Key);
    params.hash_func = rte_hash_crc;
    params.hash_func_init_val = 0;
    params.socket_id = static_cast<int>(rte_socket_id());
    // One writer and reader (the lane); the extendable table holds every
    // key up to the capacity whatever the bucket collisions.
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    rte_hash* h = rte_hash_create(&params);
    if (h == nullptr) {
        error = std::string("cannot create the IPv") + family + " connection table of " +
                std::to_string(capacity) + " entries: " + rte_strerror(rte_errno);
    }
    return h;
}

}  // namespace

conntrack_policy conntrack_policy::from(const conntrack_config& c, uint64_t tsc_hz) noexcept {
    conntrack_policy p;
    p.tcp_syn = c.tcp_syn * tsc_hz;
    p.tcp_established = c.tcp_established * tsc_hz;
    p.tcp_fin = c.tcp_fin * tsc_hz;
    p.tcp_closed = c.tcp_closed * tsc_hz;
    p.udp = c.udp * tsc_hz;
    p.udp_stream = c.udp_stream * tsc_hz;
    p.icmp = c.icmp * tsc_hz;
    p.other = c.other * tsc_hz;
    p.drop_invalid = c.drop_invalid;
    return p;
}

connection_table::~connection_table() {
    rte_hash_free(v4_.hash);
    rte_hash_free(v6_.hash);
    rte_free(v4_.entries);
    rte_free(v6_.entries);
}

std::unique_ptr<connection_table> connection_table::create(unsigned lane, uint32_t capacity,
                                                           std::string& error) {
    std::unique_ptr<connection_table> t(new connection_table());
    t->capacity_ = capacity;
    t->v4_.hash = make_hash<ct_key4>("4", lane, capacity, error);
    t->v6_.hash = t->v4_.hash != nullptr ? make_hash<ct_key6>("6", lane, capacity, error) : nullptr;
    if (t->v6_.hash == nullptr) {
        return nullptr;
    }
    // Positions run from 0 to the largest key id.
    const auto slots = static_cast<std::size_t>(rte_hash_max_key_id(t->v4_.hash)) + 1;
    t->v4_.entries = static_cast<ct_entry*>(
        rte_zmalloc("conntrack", slots * sizeof(ct_entry), RTE_CACHE_LINE_SIZE));
    t->v6_.entries = static_cast<ct_entry*>(
        rte_zmalloc("conntrack", slots * sizeof(ct_entry), RTE_CACHE_LINE_SIZE));
    if (t->v4_.entries == nullptr || t->v6_.entries == nullptr) {
        error = "cannot allocate " + std::to_string(2 * slots * sizeof(ct_entry)) +
                " bytes of connection entries";
        return nullptr;
    }
    for (unsigned i = 0; i < max_burst; ++i) {
        t->v4_.key_ptrs[i] = &t->v4_.keys[i];
        t->v6_.key_ptrs[i] = &t->v6_.keys[i];
    }
    return t;
}

uint32_t connection_table::size() const noexcept {
    return rte_hash_count(v4_.hash) + rte_hash_count(v6_.hash);
}

void connection_table::probe(rte_mbuf* const* pkts, uint16_t n, bool v6, ct_probe* out) noexcept {
    auto run = [&](auto& f) {
        // Tracked packets take the scratch keys in order; the bulk lookup
        // runs over them alone.
        uint16_t k = 0;
        for (uint16_t i = 0; i < n; ++i) {
            probe_one(pkts[i], v6, f.keys[k], out[i]);
            out[i].slot = static_cast<uint8_t>(k);
            if (out[i].kind == ct_kind::track || out[i].kind == ct_kind::error) {
                ++k;
            }
        }
        if (k == 0) {
            return;
        }
        rte_hash_lookup_bulk(f.hash, f.key_ptrs.data(), k, f.positions.data());
        for (uint16_t i = 0; i < n; ++i) {
            if (out[i].kind == ct_kind::track || out[i].kind == ct_kind::error) {
                const int32_t pos = f.positions[out[i].slot];
                out[i].pos = pos;
                if (pos >= 0) {
                    rte_prefetch0(&f.entries[pos]);  // state() reads it after the rules
                }
            }
        }
    };
    if (v6) {
        run(v6_);
    } else {
        run(v4_);
    }
}

ct_entry* connection_table::live(const ct_probe& p, uint64_t now) noexcept {
    if (p.pos < 0) {
        return nullptr;
    }
    ct_entry& e = (p.v6 ? v6_.entries : v4_.entries)[p.pos];
    return (e.flags & ct_flag_used) != 0 && e.expires > now ? &e : nullptr;
}

uint8_t connection_table::state(ct_probe& p, uint64_t now) noexcept {
    if (p.kind == ct_kind::untracked) {
        return ct_untracked;
    }
    if (p.kind == ct_kind::invalid) {
        return ct_invalid;
    }
    if ((p.pos < 0 && inserted_) || removed_) {
        // A connection this burst created (or slots it freed): look again.
        p.pos = p.v6 ? rte_hash_lookup(v6_.hash, &v6_.keys[p.slot])
                     : rte_hash_lookup(v4_.hash, &v4_.keys[p.slot]);
    }
    const ct_entry* e = live(p, now);
    if (p.kind == ct_kind::error) {
        return e != nullptr ? ct_related : ct_invalid;
    }
    const uint8_t f = p.tcp_flags;
    if (e == nullptr) {
        if (p.proto == proto_tcp) {
            return syn_only(f) ? ct_new : ct_invalid;  // no mid-stream pickup
        }
        return p.icmp_echo == echo_reply ? ct_invalid : ct_new;
    }
    const bool orig = p.src_is_lo == ((e->flags & ct_flag_orig_lo) != 0);
    if (p.proto == proto_tcp && (f & tcp_rst) == 0) {
        switch (e->tcp) {
            case tcp_state::closed:
                return orig && syn_only(f) ? ct_new : ct_invalid;
            case tcp_state::syn_sent:
                if (orig) {
                    return syn_only(f) ? ct_new : ct_invalid;
                }
                if ((f & tcp_syn) == 0) {
                    return ct_invalid;
                }
                break;
            case tcp_state::closing:
                if (orig && syn_only(f)) {
                    return ct_new;  // the same ports opened again
                }
                break;
            default:
                break;
        }
    }
    if (p.icmp_echo != 0 && (p.icmp_echo == echo_request) != orig) {
        return ct_invalid;
    }
    return !orig || (e->flags & ct_flag_seen_reply) != 0 ? ct_established : ct_new;
}

int32_t connection_table::insert(ct_probe& p, uint64_t now, stage_context& ctx) noexcept {
    if (p.pos >= 0) {
        ctx.count(event::connections_expired);  // timed out, not yet removed: reused
        return p.pos;
    }
    auto add = [&]() {
        return p.v6 ? rte_hash_add_key(v6_.hash, &v6_.keys[p.slot])
                    : rte_hash_add_key(v4_.hash, &v4_.keys[p.slot]);
    };
    const uint32_t& used = p.v6 ? v6_.used : v4_.used;
    if (used >= capacity_ && !swept_) {
        // Full: look for timed-out connections further ahead, once a burst.
        swept_ = true;
        const uint32_t freed = p.v6 ? expire_family(v6_, now, full_sweep, ctx)
                                    : expire_family(v4_, now, full_sweep, ctx);
        removed_ = removed_ || freed > 0;
    }
    if (used >= capacity_) {
        return -1;
    }
    const int32_t pos = add();
    if (pos < 0) {
        return -1;
    }
    ++(p.v6 ? v6_.used : v4_.used);
    inserted_ = true;
    p.pos = pos;
    return pos;
}

bool connection_table::commit(ct_probe& p, uint8_t state, const conntrack_policy& policy,
                              uint64_t now, stage_context& ctx) noexcept {
    if (state != ct_new && state != ct_established) {
        return true;  // related, invalid, untracked: no connection of their own to change
    }
    ct_entry* e = live(p, now);
    const bool tcp = p.proto == proto_tcp;
    const uint8_t f = p.tcp_flags;
    if (e == nullptr) {
        const int32_t pos = insert(p, now, ctx);
        if (pos < 0) {
            return false;
        }
        e = &(p.v6 ? v6_.entries : v4_.entries)[pos];
        e->flags = static_cast<uint8_t>(ct_flag_used | (p.src_is_lo ? ct_flag_orig_lo : 0));
        e->proto = p.proto;
        e->tcp = tcp ? tcp_state::syn_sent : tcp_state::none;
        ctx.count(event::connections_created);
        ++changes_;
    } else {
        const uint8_t flags_before = e->flags;
        const tcp_state tcp_before = e->tcp;
        const bool orig = p.src_is_lo == ((e->flags & ct_flag_orig_lo) != 0);
        if (tcp && orig && syn_only(f) &&
            (e->tcp == tcp_state::closed || e->tcp == tcp_state::closing)) {
            // The ports opened again: a new connection in the same entry.
            e->flags = static_cast<uint8_t>(ct_flag_used | (e->flags & ct_flag_orig_lo));
            e->tcp = tcp_state::syn_sent;
            ctx.count(event::connections_created);
        } else {
            if (!orig) {
                e->flags |= ct_flag_seen_reply;
            }
            if (tcp) {
                if ((f & tcp_rst) != 0) {
                    e->tcp = tcp_state::closed;
                } else if (e->tcp == tcp_state::syn_sent && !orig && (f & tcp_syn) != 0) {
                    e->tcp = tcp_state::syn_recv;
                } else if (e->tcp == tcp_state::syn_recv && orig && (f & tcp_ack) != 0 &&
                           (f & tcp_syn) == 0) {
                    e->tcp = tcp_state::established;
                }
                if ((f & tcp_fin) != 0 && e->tcp != tcp_state::closed &&
                    e->tcp != tcp_state::syn_sent) {
                    e->flags |= orig ? ct_flag_fin_orig : ct_flag_fin_reply;
                    const uint8_t both = ct_flag_fin_orig | ct_flag_fin_reply;
                    e->tcp = (e->flags & both) == both ? tcp_state::closing : tcp_state::fin_wait;
                }
            }
        }
        if (e->flags != flags_before || e->tcp != tcp_before) {
            ++changes_;
        }
    }
    uint64_t timeout = policy.other;
    if (tcp) {
        switch (e->tcp) {
            case tcp_state::syn_sent:
            case tcp_state::syn_recv:
                timeout = policy.tcp_syn;
                break;
            case tcp_state::established:
                timeout = policy.tcp_established;
                break;
            case tcp_state::fin_wait:
            case tcp_state::closing:
                timeout = policy.tcp_fin;
                break;
            default:
                timeout = policy.tcp_closed;
                break;
        }
    } else if (p.icmp_echo != 0) {
        timeout = policy.icmp;
    } else if (has_ports(p.proto)) {
        timeout = (e->flags & ct_flag_seen_reply) != 0 ? policy.udp_stream : policy.udp;
    }
    e->expires = now + timeout;
    return true;
}

template <class Key>
uint32_t connection_table::expire_family(family<Key>& f, uint64_t now, uint32_t n,
                                         stage_context& ctx) noexcept {
    const auto slots = static_cast<uint32_t>(rte_hash_max_key_id(f.hash)) + 1;
    uint32_t removed = 0;
    n = std::min(n, slots);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t pos = f.cursor;
        f.cursor = pos + 1 == slots ? 0 : pos + 1;
        ct_entry& e = f.entries[pos];
        if ((e.flags & ct_flag_used) == 0 || e.expires > now) {
            continue;
        }
        void* stored = nullptr;
        if (rte_hash_get_key_with_position(f.hash, static_cast<int32_t>(pos), &stored) == 0) {
            Key key;
            std::memcpy(&key, stored, sizeof(key));
            rte_hash_del_key(f.hash, &key);
        }
        e.flags = 0;
        ++removed;
    }
    if (removed > 0) {
        ctx.count(event::connections_expired, removed);
        f.used -= std::min(f.used, removed);
        ++changes_;
    }
    return removed;
}

uint32_t connection_table::expire(uint64_t now, uint32_t n, stage_context& ctx) noexcept {
    const uint32_t removed = (v4_.used != 0 ? expire_family(v4_, now, n, ctx) : 0) +
                             (v6_.used != 0 ? expire_family(v6_, now, n, ctx) : 0);
    removed_ = removed_ || removed > 0;
    return removed;
}

}  // namespace dpdk_app
