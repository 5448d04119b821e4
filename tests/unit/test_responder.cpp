// The responder on real mbufs (EAL in-process, a pool with the packet_meta
// private area): malformed ARP / ICMP / NDP through a real respond_stage in
// bridge and router mode with the exact counters each one moves, the rules
// that forbid an ICMP error (RFC 1812 4.3.2.7, RFC 4443 2.4 e), the token
// buckets on a simulated clock, the exact bytes of every reply and error,
// and their checksums checked by an independent decoder (scapy or tshark)
// reading a pcap of every frame the stage generated.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "corpus.hpp"
#include "eal_env.hpp"
#include "generation_util.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/events.hpp"
#include "pipeline/generated.hpp"
#include "pipeline/stage.hpp"
#include "respond/build.hpp"
#include "respond/rate_limit.hpp"
#include "parse/parse_stage.hpp"
#include "respond/respond_stage.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"

// Designated initializers below name only the fields that differ from their
// defaults (C++20); GCC's -Wextra would flag every one of them.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace dpdk_app {
namespace {

using corpus::bytes;
using mac_t = std::array<uint8_t, 6>;
using ip4_t = std::array<uint8_t, 4>;
using ip6_t = std::array<uint8_t, 16>;
using counts = std::map<std::string, uint64_t>;

constexpr uint64_t test_hz = 1000;  // one TSC tick = 1 ms: easy token arithmetic

// ---- addresses --------------------------------------------------------------

constexpr mac_t our_mac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01};
constexpr mac_t port1_mac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02};
constexpr mac_t peer_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x10};
constexpr mac_t other_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x20};
constexpr mac_t zero_mac{};
constexpr mac_t broadcast_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr mac_t mcast4_mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x09};
constexpr mac_t all_nodes_mac{0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
constexpr mac_t our_sn_mac{0x33, 0x33, 0xff, 0x00, 0x00, 0x01};  // solicited-node of our6

constexpr ip4_t our4{192, 0, 2, 1};
constexpr ip4_t peer4{192, 0, 2, 10};
constexpr ip4_t unowned4{192, 0, 2, 99};
constexpr ip4_t far4{198, 51, 100, 7};  // a remote host behind peer_mac
constexpr ip4_t dest4{203, 0, 113, 9};  // a transit destination
constexpr ip4_t zero4{0, 0, 0, 0};

constexpr ip6_t our6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
constexpr ip6_t peer6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
constexpr ip6_t unowned6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99};
constexpr ip6_t far6{0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07};
constexpr ip6_t dest6{0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09};
constexpr ip6_t zero6{};
constexpr ip6_t all_nodes6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
constexpr ip6_t global_group6{0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
constexpr ip6_t our_sn6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x00, 0x00, 0x01};
constexpr ip6_t peer_sn6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x00, 0x00, 0x10};

constexpr uint8_t p_icmp = 1;
constexpr uint8_t p_tcp = 6;
constexpr uint8_t p_udp = 17;
constexpr uint8_t p_gre = 47;
constexpr uint8_t p_frag6 = 44;
constexpr uint8_t p_icmp6 = 58;

// ---- frame builders (plain bytes, checksums computed here) -----------------

template <std::size_t N>
void append(bytes& b, const std::array<uint8_t, N>& a) {
    b.insert(b.end(), a.begin(), a.end());
}
void append(bytes& b, const bytes& a) {
    b.insert(b.end(), a.begin(), a.end());
}
void push16(bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void push32(bytes& b, uint32_t v) {
    push16(b, static_cast<uint16_t>(v >> 16));
    push16(b, static_cast<uint16_t>(v));
}
void put16(bytes& b, std::size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(const bytes& b, std::size_t at) {
    return static_cast<uint16_t>(b.at(at) << 8 | b.at(at + 1));
}
uint32_t get32(const bytes& b, std::size_t at) {
    return uint32_t{get16(b, at)} << 16 | get16(b, at + 2);
}
bytes slice(const bytes& b, std::size_t from, std::size_t len) {
    return bytes(b.begin() + static_cast<std::ptrdiff_t>(from),
                 b.begin() + static_cast<std::ptrdiff_t>(from + len));
}

// RFC 1071 sum over big-endian 16-bit words, continued from sum.
uint32_t sum16(const uint8_t* p, std::size_t n, uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (n % 2 != 0) {
        sum += static_cast<uint32_t>(p[n - 1] << 8);
    }
    return sum;
}
uint16_t finish(uint32_t sum) {
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

bytes ether(const mac_t& dst, const mac_t& src, uint16_t type) {
    bytes b;
    append(b, dst);
    append(b, src);
    push16(b, type);
    return b;
}
bytes ether_vlan(const mac_t& dst, const mac_t& src, uint16_t vid, uint16_t type) {
    bytes b;
    append(b, dst);
    append(b, src);
    push16(b, 0x8100);
    push16(b, vid);
    push16(b, type);
    return b;
}

struct ip4_opts {
    uint8_t tos = 0;
    uint16_t id = 0x1234;
    uint16_t frag = 0;  // DF 0x4000, MF 0x2000, offset in 8-byte units
    uint8_t ttl = 64;
    bytes options;  // a multiple of 4 bytes
};
bytes ip4(const ip4_t& src, const ip4_t& dst, uint8_t proto, const bytes& payload,
          const ip4_opts& o = {}) {
    const std::size_t hdr = 20 + o.options.size();
    bytes b;
    b.push_back(static_cast<uint8_t>(0x40 | hdr / 4));
    b.push_back(o.tos);
    push16(b, static_cast<uint16_t>(hdr + payload.size()));
    push16(b, o.id);
    push16(b, o.frag);
    b.push_back(o.ttl);
    b.push_back(proto);
    push16(b, 0);
    append(b, src);
    append(b, dst);
    append(b, o.options);
    put16(b, 10, finish(sum16(b.data(), b.size())));
    append(b, payload);
    return b;
}
bytes ip6(const ip6_t& src, const ip6_t& dst, uint8_t next, const bytes& payload,
          uint8_t hop_limit = 64) {
    bytes b;
    push32(b, 6u << 28);
    push16(b, static_cast<uint16_t>(payload.size()));
    b.push_back(next);
    b.push_back(hop_limit);
    append(b, src);
    append(b, dst);
    append(b, payload);
    return b;
}
// ICMP: type, code, checksum, rest (identifier + sequence, MTU, ...), body.
bytes icmp4(uint8_t type, uint8_t code, uint32_t rest, const bytes& body, bool bad = false) {
    bytes b{type, code, 0, 0};
    push32(b, rest);
    append(b, body);
    uint16_t ck = finish(sum16(b.data(), b.size()));
    if (bad) {
        ck ^= 0x0101;
    }
    put16(b, 2, ck);
    return b;
}
uint32_t pseudo6(const ip6_t& src, const ip6_t& dst, std::size_t len, uint8_t next) {
    uint32_t sum = sum16(src.data(), 16);
    sum = sum16(dst.data(), 16, sum);
    sum += static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
    return sum + next;
}
bytes icmp6(const ip6_t& src, const ip6_t& dst, uint8_t type, uint8_t code, uint32_t rest,
            const bytes& body, bool bad = false) {
    bytes b{type, code, 0, 0};
    push32(b, rest);
    append(b, body);
    uint16_t ck = finish(sum16(b.data(), b.size(), pseudo6(src, dst, b.size(), p_icmp6)));
    if (bad) {
        ck ^= 0x0101;
    }
    put16(b, 2, ck);
    return b;
}
bytes udp4(const ip4_t& src, const ip4_t& dst, uint16_t sport, uint16_t dport,
           const bytes& payload) {
    bytes b;
    push16(b, sport);
    push16(b, dport);
    push16(b, static_cast<uint16_t>(8 + payload.size()));
    push16(b, 0);
    append(b, payload);
    uint32_t sum = sum16(src.data(), 4);
    sum = sum16(dst.data(), 4, sum) + p_udp + static_cast<uint32_t>(b.size());
    uint16_t ck = finish(sum16(b.data(), b.size(), sum));
    put16(b, 6, ck == 0 ? 0xffff : ck);
    return b;
}
bytes udp6(const ip6_t& src, const ip6_t& dst, uint16_t sport, uint16_t dport,
           const bytes& payload) {
    bytes b;
    push16(b, sport);
    push16(b, dport);
    push16(b, static_cast<uint16_t>(8 + payload.size()));
    push16(b, 0);
    append(b, payload);
    uint16_t ck = finish(sum16(b.data(), b.size(), pseudo6(src, dst, b.size(), p_udp)));
    put16(b, 6, ck == 0 ? 0xffff : ck);
    return b;
}
// A SYN; the TCP checksum is not looked at by anyone here.
bytes tcp_syn(uint16_t sport, uint16_t dport) {
    return corpus::tcp(sport, dport, 0x02);
}
bytes arp_body(uint16_t op, const mac_t& sha, const ip4_t& spa, const mac_t& tha, const ip4_t& tpa,
               uint16_t hrd = 1, uint16_t pro = 0x0800, uint8_t hln = 6, uint8_t pln = 4) {
    bytes b;
    push16(b, hrd);
    push16(b, pro);
    b.push_back(hln);
    b.push_back(pln);
    push16(b, op);
    append(b, sha);
    append(b, spa);
    append(b, tha);
    append(b, tpa);
    return b;
}
bytes frag6_header(uint8_t next, uint16_t offset, bool more) {
    bytes b{next, 0};
    push16(b, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
    push32(b, 0xabcd0001);
    return b;
}
bytes lla_option(uint8_t kind, const mac_t& mac) {
    bytes b{kind, 1};
    append(b, mac);
    return b;
}
bytes payload(std::size_t n, uint8_t seed = 11) {
    return corpus::filler(n, seed);
}
bytes padded(bytes f) {
    return corpus::pad_to(std::move(f), 60);
}

// Frames from the peer (peer_mac) to us (our_mac) unless said otherwise.
bytes frame4(const bytes& ip, const mac_t& dst = our_mac, const mac_t& src = peer_mac) {
    return padded(corpus::cat(ether(dst, src, 0x0800), ip));
}
bytes frame6(const bytes& ip, const mac_t& dst = our_mac, const mac_t& src = peer_mac) {
    return padded(corpus::cat(ether(dst, src, 0x86dd), ip));
}
bytes arp_frame(uint16_t op, const mac_t& sha, const ip4_t& spa, const ip4_t& tpa,
                const mac_t& eth_dst = broadcast_mac, const mac_t& eth_src = peer_mac,
                const mac_t& tha = zero_mac) {
    return padded(corpus::cat(ether(eth_dst, eth_src, 0x0806), arp_body(op, sha, spa, tha, tpa)));
}
bytes echo4(const ip4_t& src, const ip4_t& dst, const bytes& data, const ip4_opts& o = {},
            bool bad = false) {
    return ip4(src, dst, p_icmp, icmp4(8, 0, 0x4d2'0007, data, bad), o);
}
bytes echo6(const ip6_t& src, const ip6_t& dst, const bytes& data, uint8_t hop_limit = 64,
            bool bad = false) {
    return ip6(src, dst, p_icmp6, icmp6(src, dst, 128, 0, 0x4d2'0007, data, bad), hop_limit);
}
// Neighbour solicitation for target, with the given options.
bytes ns6(const ip6_t& src, const ip6_t& dst, const ip6_t& target, const bytes& options,
          uint8_t hop_limit = 255, uint8_t code = 0) {
    bytes body;
    append(body, target);
    append(body, options);
    return ip6(src, dst, p_icmp6, icmp6(src, dst, 135, code, 0, body), hop_limit);
}
bytes na6(const ip6_t& src, const ip6_t& dst, const ip6_t& target, uint32_t flags,
          const bytes& options) {
    bytes body;
    append(body, target);
    append(body, options);
    return ip6(src, dst, p_icmp6, icmp6(src, dst, 136, 0, flags, body), 255);
}

// ---- shared DPDK objects --------------------------------------------------------

struct shared_state {
    rte_mempool* pool = nullptr;
    std::unique_ptr<slow_path> slow;
    std::unique_ptr<generation_store> store;
    std::string error;
};
shared_state& shared() {
    static shared_state s;
    return s;
}
constexpr unsigned pool_size = 511;

rte_ether_addr to_ether(const mac_t& m) {
    rte_ether_addr a;
    std::memcpy(a.addr_bytes, m.data(), 6);
    return a;
}
uint32_t be32_of(const ip4_t& a) {
    uint32_t v;
    std::memcpy(&v, a.data(), 4);
    return v;
}

std::unique_ptr<fib> make_fib(bool with_addresses, std::string& error) {
    fib_port p0;
    p0.id = 0;
    p0.mac = to_ether(our_mac);
    if (with_addresses) {
        p0.addr4 = {be32_of(our4)};
        p0.addr6 = {our6};
    }
    fib_port p1;  // a port without addresses
    p1.id = 1;
    p1.mac = to_ether(port1_mac);
    const std::map<std::string, fib_port> ports = {{"p0", p0}, {"p1", p1}};
    return fib::build(resolved_router{}, ports, 1, shared().slow->neighbors(),
                      /*tables=*/false, error);
}

counts snapshot(const segment_counters& c) {
    counts r;
    auto put = [&](const std::string& k, uint64_t v) {
        if (v != 0) {
            r[k] = v;
        }
    };
    put("rx", c.rx.get());
    put("forwarded", c.forwarded.get());
    put("consumed", c.consumed.get());
    put("generated", c.generated.get());
    put("generated_sent", c.generated_sent.get());
    put("generated_dropped", c.generated_dropped.get());
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        put("drops." + std::string(drop_reason_names[i]), c.drops[i].get());
    }
    for (std::size_t i = 0; i < event_count; ++i) {
        put("events." + std::string(event_names[i]), c.events[i].get());
    }
    return r;
}
counts minus(const counts& after, const counts& before) {
    counts r;
    for (const auto& [k, v] : after) {
        auto it = before.find(k);
        const uint64_t d = v - (it == before.end() ? 0 : it->second);
        if (d != 0) {
            r[k] = d;
        }
    }
    return r;
}

// A received packet handed to the stage.
struct input {
    bytes frame;
    punt_kind punt = punt_kind::none;
    uint32_t punt_arg = 0;
    uint16_t port = 0;
    std::vector<std::size_t> segments;  // chained: bytes per segment, the rest filled
    int headroom = -1;                  // >= 0: this much headroom instead of the default
};

rte_mbuf* make_mbuf(const input& in) {
    return unit::make_mbuf(shared().pool, in.frame, in.port, in.segments, in.headroom);
}

// The frame of m, linearised; chain_ok false if its segment lengths do not
// add up to pkt_len or nb_segs is wrong.
bytes frame_of(const rte_mbuf* m, bool& chain_ok) {
    return unit::frame_of(m, &chain_ok);
}

struct result {
    counts delta;                        // counters moved by this run
    std::vector<bytes> frames;           // left in the burst, in order
    std::vector<uint16_t> ports;         // their mbuf->port
    std::vector<bool> generated;         // their generated flag
    std::vector<uint16_t> segs;          // their nb_segs
    std::vector<punt_kind> punts;        // their packet_meta::punt
    std::vector<learn_message> learned;  // what went to the learn ring
    std::vector<bytes> held;             // what went to the punt ring
    std::vector<punt_kind> held_punts;
    uint16_t out_port = no_port;
    bool has_generated = false;
    bool all_generated = false;
    bool has_punts = false;
};

// One respond_stage with its own counters and context (its rate limiter
// lives as long as the harness).
class harness {
  public:
    explicit harness(bool router, const error_limits& limits = {},
                     const generation_store* store = nullptr)
        : counters_(std::make_unique<segment_counters>()),
          ctx_(*counters_, (store != nullptr ? *store : *shared().store).current()),
          stage_(shared().slow.get(), 0, responder_settings{router, limits}, test_hz) {}

    result run(const std::vector<input>& in, uint64_t now = 0, uint16_t out_port = no_port,
               bool force_has_punts = false) {
        result r;
        burst b;
        bool punts = force_has_punts;
        for (const input& i : in) {
            rte_mbuf* m = make_mbuf(i);
            if (m == nullptr) {
                continue;
            }
            packet_meta& pm = *meta_of(m);
            if (auto why = parse_packet(m, pm)) {
                ADD_FAILURE() << "parse_packet dropped the input: "
                              << name_of(drop_reason_of(*why));
                rte_pktmbuf_free(m);
                continue;
            }
            pm.punt = i.punt;
            pm.punt_arg = i.punt_arg;
            punts = punts || i.punt != punt_kind::none;
            b.pkts[b.count++] = m;
        }
        // As RX leaves a burst: every packet from one port says so (which
        // lets the stage take its ping-flood loop).
        bool one_port = !in.empty();
        for (const input& i : in) {
            one_port = one_port && i.port == in.front().port;
        }
        b.in_port = one_port ? in.front().port : no_port;
        b.out_port = out_port;
        b.has_punts = punts;
        const counts before = snapshot(*counters_);
        ctx_.set_now(now);
        stage_.process(b, ctx_);
        r.out_port = b.out_port;
        r.has_generated = b.has_generated;
        r.all_generated = b.all_generated;
        r.has_punts = b.has_punts;
        for (uint16_t k = 0; k < b.count; ++k) {
            rte_mbuf* m = b.pkts[k];
            bool chain_ok = false;
            r.frames.push_back(frame_of(m, chain_ok));
            EXPECT_TRUE(chain_ok) << "packet " << k << ": segment lengths != pkt_len";
            r.ports.push_back(m->port);
            r.generated.push_back(is_generated(m));
            r.segs.push_back(m->nb_segs);
            r.punts.push_back(meta_of(m)->punt);
            rte_pktmbuf_free(m);
        }
        ctx_.free_discarded();  // end of the burst: frees and publishes the counts
        r.delta = minus(snapshot(*counters_), before);
        slow_path& sp = *shared().slow;
        learn_message msg;
        while (rte_ring_sc_dequeue_elem(sp.learn(0), &msg, sizeof msg) == 0) {
            r.learned.push_back(msg);
        }
        void* held = nullptr;
        while (rte_ring_sc_dequeue(sp.punt(0), &held) == 0) {
            auto* m = static_cast<rte_mbuf*>(held);
            bool chain_ok = false;
            r.held.push_back(frame_of(m, chain_ok));
            r.held_punts.push_back(meta_of(m)->punt);
            rte_pktmbuf_free(m);
        }
        return r;
    }

  private:
    std::unique_ptr<segment_counters> counters_;
    stage_context ctx_;
    respond_stage stage_;
};

class responder_base : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        shared_state& s = shared();
        s.error.clear();
        if (unit::dpdk_environment::pool() == nullptr) {
            return;  // EAL is not up: every test skips
        }
        static unsigned instance = 0;
        ++instance;
        s.pool = rte_pktmbuf_pool_create(("rsp_pool" + std::to_string(instance)).c_str(), pool_size,
                                         0, packet_meta_priv_size, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         static_cast<int>(rte_socket_id()));
        if (s.pool == nullptr) {
            s.error = "cannot create the responder test pool";
            return;
        }
        if (!register_generated_flag()) {
            s.error = "cannot register the generated mbuf flag";
            return;
        }
        std::string error;
        s.slow = slow_path::create(1, 64, error);
        if (!s.slow) {
            s.error = "slow_path::create: " + error;
            return;
        }
        auto f = make_fib(true, error);
        if (!f) {
            s.error = "fib::build: " + error;
            return;
        }
        s.store = unit::store_with(std::move(f));
    }

    static void TearDownTestSuite() {
        shared_state& s = shared();
        s.store.reset();
        s.slow.reset();
        if (s.pool != nullptr) {
            rte_mempool_free(s.pool);
            s.pool = nullptr;
        }
    }

    void SetUp() override {
        if (unit::dpdk_environment::pool() == nullptr) {
            GTEST_SKIP() << "EAL not available: " << unit::dpdk_environment::error();
        }
        ASSERT_EQ(shared().error, "");
        ASSERT_TRUE(shared().store);
        ASSERT_EQ(rte_mempool_avail_count(shared().pool), pool_size);
    }

    void TearDown() override {
        if (shared().pool != nullptr) {
            EXPECT_EQ(rte_mempool_avail_count(shared().pool), pool_size) << "mbufs leaked";
        }
    }

    static void expect_pool_full() {
        EXPECT_EQ(rte_mempool_avail_count(shared().pool), pool_size) << "mbufs leaked";
    }
};

// ---- expected counters ------------------------------------------------------------

counts dropped(const std::string& why) {
    return {{"drops." + why, 1}};
}
counts consumed() {
    return {{"consumed", 1}};
}
counts replied(const std::string& event) {
    return {{"consumed", 1}, {"generated", 1}, {"events." + event, 1}};
}
counts error_sent(const std::string& why, const std::string& event) {
    return {{"drops." + why, 1}, {"generated", 1}, {"events." + event, 1}};
}
counts error_not_sent(const std::string& why, const std::string& event) {
    return {{"drops." + why, 1}, {"events." + event, 1}};
}
const counts nothing{};

// ---- 1 and 2: table-driven cases through the stage --------------------------------

enum class fate { dropped, passes, generated };

struct stage_case {
    std::string name;
    bool router = false;
    input in;
    counts expect;
    fate what = fate::dropped;
};

void PrintTo(const stage_case& c, std::ostream* os) {
    *os << c.name;
}

stage_case drop_case(std::string name, bool router, input in, counts expect) {
    return {std::move(name), router, std::move(in), std::move(expect), fate::dropped};
}
stage_case pass_case(std::string name, bool router, input in) {
    return {std::move(name), router, std::move(in), nothing, fate::passes};
}
stage_case gen_case(std::string name, bool router, input in, counts expect) {
    return {std::move(name), router, std::move(in), std::move(expect), fate::generated};
}

input in(bytes frame, punt_kind punt = punt_kind::none, uint32_t arg = 0, uint16_t port = 0) {
    input i;
    i.frame = std::move(frame);
    i.punt = punt;
    i.punt_arg = arg;
    i.port = port;
    return i;
}

std::vector<stage_case> bridge_cases() {
    constexpr bool bridge = false;
    std::vector<stage_case> c;
    // ARP, all asking about 192.0.2.1 (so the bridge picks them out).
    c.push_back(gen_case("arp_request_for_us", bridge, in(arp_frame(1, peer_mac, peer4, our4)),
                         replied("arp_replies")));
    c.push_back(gen_case("arp_probe_from_0_0_0_0_is_answered", bridge,
                         in(arp_frame(1, peer_mac, zero4, our4)), replied("arp_replies")));
    c.push_back(drop_case("arp_reply_to_us_is_consumed", bridge,
                          in(arp_frame(2, peer_mac, peer4, our4, our_mac, peer_mac, our_mac)),
                          consumed()));
    auto odd_arp = [](uint16_t hrd, uint16_t pro, uint8_t hln, uint8_t pln, uint16_t op) {
        return padded(
            corpus::cat(ether(broadcast_mac, peer_mac, 0x0806),
                        arp_body(op, peer_mac, peer4, zero_mac, our4, hrd, pro, hln, pln)));
    };
    c.push_back(drop_case("arp_hardware_ieee802", bridge, in(odd_arp(6, 0x0800, 6, 4, 1)),
                          dropped("arp_bad_hardware")));
    c.push_back(drop_case("arp_hardware_length_8", bridge, in(odd_arp(1, 0x0800, 8, 4, 1)),
                          dropped("arp_bad_hardware")));
    c.push_back(drop_case("arp_protocol_ipv6", bridge, in(odd_arp(1, 0x86dd, 6, 4, 1)),
                          dropped("arp_bad_protocol")));
    c.push_back(drop_case("arp_protocol_length_16", bridge, in(odd_arp(1, 0x0800, 6, 16, 1)),
                          dropped("arp_bad_protocol")));
    c.push_back(drop_case("arp_opcode_rarp_3", bridge, in(odd_arp(1, 0x0800, 6, 4, 3)),
                          dropped("arp_bad_opcode")));
    c.push_back(drop_case("arp_opcode_0", bridge, in(odd_arp(1, 0x0800, 6, 4, 0)),
                          dropped("arp_bad_opcode")));
    c.push_back(drop_case("arp_sender_mac_not_the_ethernet_source", bridge,
                          in(arp_frame(1, other_mac, peer4, our4)),
                          dropped("arp_sender_mismatch")));
    c.push_back(drop_case("arp_gratuitous_claiming_our_address", bridge,
                          in(arp_frame(1, peer_mac, our4, our4)), dropped("arp_address_conflict")));
    c.push_back(drop_case("arp_reply_claiming_our_address", bridge,
                          in(arp_frame(2, peer_mac, our4, our4, broadcast_mac)),
                          dropped("arp_address_conflict")));
    c.push_back(pass_case("arp_for_another_host_passes", bridge,
                          in(arp_frame(1, peer_mac, peer4, unowned4))));
    input split_arp = in(arp_frame(1, peer_mac, peer4, our4));
    split_arp.segments = {20};  // the ARP message straddles two segments
    c.push_back(pass_case("arp_split_across_segments_passes", bridge, split_arp));
    c.push_back(pass_case("arp_for_us_vlan_tagged_passes", bridge,
                          in(padded(corpus::cat(ether_vlan(broadcast_mac, peer_mac, 10, 0x0806),
                                                arp_body(1, peer_mac, peer4, zero_mac, our4))))));

    // ICMP / IPv4 to 192.0.2.1.
    c.push_back(gen_case("echo_request", bridge, in(frame4(echo4(peer4, our4, payload(56)))),
                         replied("echo_replies")));
    c.push_back(drop_case("echo_request_bad_icmp_checksum", bridge,
                          in(frame4(echo4(peer4, our4, payload(56), {}, true))),
                          dropped("icmp_bad_checksum")));
    c.push_back(drop_case("echo_reply_to_us_is_consumed", bridge,
                          in(frame4(ip4(peer4, our4, p_icmp, icmp4(0, 0, 0x10001, payload(8))))),
                          consumed()));
    c.push_back(drop_case(
        "dest_unreachable_to_us_is_consumed", bridge,
        in(frame4(ip4(peer4, our4, p_icmp,
                      icmp4(3, 1, 0, ip4(our4, dest4, p_udp, udp4(our4, dest4, 1, 2, {})))))),
        consumed()));
    c.push_back(drop_case("echo_request_first_fragment", bridge,
                          in(frame4(echo4(peer4, our4, payload(64), {.frag = 0x2000}))),
                          dropped("fragment_for_us")));
    c.push_back(drop_case("echo_request_last_fragment", bridge,
                          in(frame4(ip4(peer4, our4, p_icmp, payload(40), {.frag = 185}))),
                          dropped("fragment_for_us")));
    c.push_back(drop_case("udp_first_fragment", bridge,
                          in(frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 53, payload(32)),
                                        {.frag = 0x2000}))),
                          dropped("fragment_for_us")));
    c.push_back(drop_case("tcp_syn_to_us", bridge,
                          in(frame4(ip4(peer4, our4, p_tcp, tcp_syn(40000, 22)))),
                          dropped("no_local_service")));
    c.push_back(drop_case("gre_to_us", bridge, in(frame4(ip4(peer4, our4, p_gre, payload(24)))),
                          dropped("no_local_service")));
    c.push_back(
        gen_case("udp_to_us_port_unreachable", bridge,
                 in(frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 5000, 161, payload(20))))),
                 error_sent("no_local_service", "errors_unreachable_port")));
    c.push_back(
        drop_case("udp_to_us_from_0_0_0_0", bridge,
                  in(frame4(ip4(zero4, our4, p_udp, udp4(zero4, our4, 68, 67, payload(20))))),
                  error_not_sent("no_local_service", "errors_not_sent_bad_source")));
    c.push_back(drop_case(
        "udp_to_us_as_l2_broadcast", bridge,
        in(frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 5000, 161, {})), broadcast_mac)),
        error_not_sent("no_local_service", "errors_not_sent_multicast")));
    c.push_back(drop_case("udp_to_us_on_a_port_without_address", bridge,
                          in(frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 5000, 161, {}))),
                             punt_kind::none, 0, 1),
                          error_not_sent("no_local_service", "errors_not_sent_no_address")));
    c.push_back(pass_case("echo_request_to_another_host_passes", bridge,
                          in(frame4(echo4(peer4, dest4, payload(8))))));
    c.push_back(pass_case("echo_request_to_us_vlan_tagged_passes", bridge,
                          in(padded(corpus::cat(ether_vlan(our_mac, peer_mac, 10, 0x0800),
                                                echo4(peer4, our4, payload(8)))))));

    // ICMPv6 / NDP / IPv6 to 2001:db8:1::1.
    c.push_back(gen_case("echo6_request", bridge, in(frame6(echo6(peer6, our6, payload(56)))),
                         replied("echo6_replies")));
    c.push_back(drop_case("echo6_request_bad_checksum", bridge,
                          in(frame6(echo6(peer6, our6, payload(56), 64, true))),
                          dropped("icmp_bad_checksum")));
    c.push_back(drop_case(
        "echo6_reply_to_us_is_consumed", bridge,
        in(frame6(ip6(peer6, our6, p_icmp6, icmp6(peer6, our6, 129, 0, 0x10001, payload(8))))),
        consumed()));
    c.push_back(drop_case(
        "router_solicitation_to_us_is_consumed", bridge,
        in(frame6(ip6(peer6, our6, p_icmp6, icmp6(peer6, our6, 133, 0, 0, {}), 255))), consumed()));
    c.push_back(gen_case("ns_to_solicited_node_group", bridge,
                         in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac)),
                         replied("neighbor_advertisements")));
    c.push_back(gen_case("ns_unicast_without_options", bridge,
                         in(frame6(ns6(peer6, our6, our6, {}))),
                         replied("neighbor_advertisements")));
    c.push_back(gen_case("ns_duplicate_address_detection", bridge,
                         in(frame6(ns6(zero6, our_sn6, our6, {}), our_sn_mac)),
                         replied("neighbor_advertisements")));
    c.push_back(
        drop_case("ns_hop_limit_254", bridge,
                  in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac), 254), our_sn_mac)),
                  dropped("ndp_invalid")));
    c.push_back(drop_case(
        "ns_code_1", bridge,
        in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac), 255, 1), our_sn_mac)),
        dropped("ndp_invalid")));
    c.push_back(drop_case("ns_target_multicast", bridge,
                          in(frame6(ns6(peer6, our6, all_nodes6, lla_option(1, peer_mac)))),
                          dropped("ndp_invalid")));
    c.push_back(
        drop_case("ns_option_length_0", bridge,
                  in(frame6(ns6(peer6, our_sn6, our6, bytes{1, 0, 0, 0, 0, 0, 0, 0}), our_sn_mac)),
                  dropped("ndp_invalid")));
    c.push_back(
        drop_case("ns_option_past_the_message", bridge,
                  in(frame6(ns6(peer6, our_sn6, our6, bytes{1, 2, 0, 0, 0, 0, 0, 0}), our_sn_mac)),
                  dropped("ndp_invalid")));
    c.push_back(drop_case(
        "ns_shorter_than_24_bytes", bridge,
        in(frame6(ip6(peer6, our6, p_icmp6, icmp6(peer6, our6, 135, 0, 0, payload(8)), 255))),
        dropped("ndp_invalid")));
    c.push_back(drop_case("ns_dad_to_a_unicast_address", bridge,
                          in(frame6(ns6(zero6, our6, our6, {}))), dropped("ndp_invalid")));
    c.push_back(
        drop_case("ns_dad_with_source_link_address", bridge,
                  in(frame6(ns6(zero6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac)),
                  dropped("ndp_invalid")));
    c.push_back(drop_case("ns_to_us_for_another_target", bridge,
                          in(frame6(ns6(peer6, our6, unowned6, lla_option(1, peer_mac)))),
                          dropped("not_for_us_multicast")));
    c.push_back(drop_case("na_defending_our_address", bridge,
                          in(frame6(na6(peer6, our6, our6, 0x20000000, lla_option(2, peer_mac)))),
                          dropped("arp_address_conflict")));
    c.push_back(drop_case("na_for_another_target_is_consumed", bridge,
                          in(frame6(na6(peer6, our6, peer6, 0x60000000, lla_option(2, peer_mac)))),
                          consumed()));
    c.push_back(pass_case("ns_for_another_host_passes", bridge,
                          in(frame6(ns6(unowned6, peer_sn6, peer6, lla_option(1, other_mac)),
                                    {0x33, 0x33, 0xff, 0, 0, 0x10}, other_mac))));
    c.push_back(pass_case(
        "ns_to_group_shorter_than_24_bytes_passes", bridge,
        in(frame6(ip6(peer6, our_sn6, p_icmp6, icmp6(peer6, our_sn6, 135, 0, 0, payload(8)), 255),
                  our_sn_mac))));
    c.push_back(pass_case("echo6_to_all_nodes_passes", bridge,
                          in(frame6(echo6(peer6, all_nodes6, payload(8)), all_nodes_mac))));
    c.push_back(
        drop_case("echo6_first_fragment", bridge,
                  in(frame6(ip6(peer6, our6, p_frag6,
                                corpus::cat(frag6_header(p_icmp6, 0, true),
                                            icmp6(peer6, our6, 128, 0, 0x10001, payload(32)))))),
                  dropped("fragment_for_us")));
    c.push_back(drop_case("tcp6_syn_to_us", bridge,
                          in(frame6(ip6(peer6, our6, p_tcp, tcp_syn(40000, 22)))),
                          dropped("no_local_service")));
    c.push_back(
        gen_case("udp6_to_us_port_unreachable", bridge,
                 in(frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 5000, 161, payload(20))))),
                 error_sent("no_local_service", "errors_unreachable_port")));
    c.push_back(drop_case("udp6_to_us_from_unspecified", bridge,
                          in(frame6(ip6(zero6, our6, p_udp, udp6(zero6, our6, 546, 547, {})))),
                          error_not_sent("no_local_service", "errors_not_sent_bad_source")));
    return c;
}

std::vector<stage_case> router_cases() {
    constexpr bool router = true;
    using pk = punt_kind;
    std::vector<stage_case> c;
    c.push_back(gen_case("arp_request_for_us", router,
                         in(arp_frame(1, peer_mac, peer4, our4), pk::arp), replied("arp_replies")));
    c.push_back(drop_case("arp_for_an_address_we_do_not_own", router,
                          in(arp_frame(1, peer_mac, peer4, unowned4), pk::arp),
                          dropped("arp_not_for_us")));
    c.push_back(drop_case("arp_for_us_arriving_on_port_1", router,
                          in(arp_frame(1, peer_mac, peer4, our4), pk::arp, 0, 1),
                          dropped("arp_not_for_us")));
    c.push_back(drop_case("arp_bad_opcode", router,
                          in(padded(corpus::cat(ether(broadcast_mac, peer_mac, 0x0806),
                                                arp_body(9, peer_mac, peer4, zero_mac, our4))),
                             pk::arp),
                          dropped("arp_bad_opcode")));
    input split_arp = in(arp_frame(1, peer_mac, peer4, our4), pk::arp);
    split_arp.segments = {41};
    c.push_back(
        drop_case("arp_split_across_segments", router, split_arp, dropped("arp_truncated")));
    input split_echo6 = in(frame6(echo6(peer6, our6, payload(56))), pk::local);
    split_echo6.segments = {60};  // the ICMPv6 header straddles two segments
    c.push_back(drop_case("echo6_header_split_across_segments", router, split_echo6,
                          dropped("ndp_invalid")));
    c.push_back(drop_case("arp_sender_mismatch", router,
                          in(arp_frame(1, other_mac, peer4, our4), pk::arp),
                          dropped("arp_sender_mismatch")));
    c.push_back(gen_case("echo_request", router,
                         in(frame4(echo4(peer4, our4, payload(56))), pk::local),
                         replied("echo_replies")));
    c.push_back(gen_case("echo6_request", router,
                         in(frame6(echo6(peer6, our6, payload(56))), pk::local),
                         replied("echo6_replies")));
    c.push_back(
        drop_case("echo6_to_all_nodes", router,
                  in(frame6(echo6(peer6, all_nodes6, payload(8)), all_nodes_mac), pk::local),
                  dropped("not_for_us_multicast")));
    c.push_back(drop_case("udp_to_limited_broadcast", router,
                          in(frame4(ip4(peer4, {255, 255, 255, 255}, p_udp,
                                        udp4(peer4, {255, 255, 255, 255}, 68, 67, {})),
                                    broadcast_mac),
                             pk::local),
                          dropped("not_for_us_multicast")));
    c.push_back(
        drop_case("solicited_na_to_all_nodes", router,
                  in(frame6(na6(peer6, all_nodes6, peer6, 0x60000000, lla_option(2, peer_mac)),
                            all_nodes_mac),
                     pk::local),
                  dropped("ndp_invalid")));
    c.push_back(drop_case("ns_for_us_arriving_on_port_1", router,
                          in(frame6(ns6(peer6, our_sn6, our6, {}), our_sn_mac), pk::local, 0, 1),
                          dropped("not_for_us_multicast")));
    c.push_back(gen_case(
        "ns_for_us", router,
        in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac), pk::local),
        replied("neighbor_advertisements")));
    c.push_back(drop_case("tcp_to_us", router,
                          in(frame4(ip4(peer4, our4, p_tcp, tcp_syn(1, 179))), pk::local),
                          dropped("no_local_service")));
    c.push_back(pass_case("not_punted_passes", router, in(frame4(echo4(peer4, our4, payload(8))))));
    c.push_back(gen_case("ttl_exceeded_v4", router,
                         in(frame4(echo4(far4, dest4, payload(32), {.ttl = 1})), pk::ttl_exceeded),
                         error_sent("ttl_exceeded", "errors_time_exceeded")));
    c.push_back(gen_case(
        "no_route_v4", router,
        in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(10)))), pk::no_route),
        error_sent("no_route", "errors_unreachable_net")));
    c.push_back(gen_case("too_big_v4_with_df", router,
                         in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(1400)),
                                       {.frag = 0x4000})),
                            pk::too_big, 1400),
                         error_sent("mtu_exceeded", "errors_too_big")));
    c.push_back(
        drop_case("too_big_v4_without_df_is_dropped_silently", router,
                  in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(1400)))),
                     pk::too_big, 1400),
                  dropped("mtu_exceeded")));
    c.push_back(gen_case("ttl_exceeded_v6", router,
                         in(frame6(echo6(far6, dest6, payload(32), 1)), pk::ttl_exceeded),
                         error_sent("ttl_exceeded", "errors_time_exceeded")));
    c.push_back(gen_case(
        "no_route_v6", router,
        in(frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(10)))), pk::no_route),
        error_sent("no_route", "errors_unreachable_net")));
    // A classifier's reject rule (punt_kind::prohibited), in either mode.
    c.push_back(gen_case(
        "prohibited_v4", router,
        in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(10)))), pk::prohibited),
        error_sent("rejected", "errors_prohibited")));
    c.push_back(gen_case(
        "prohibited_v6", router,
        in(frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(10)))), pk::prohibited),
        error_sent("rejected", "errors_prohibited")));
    c.push_back(gen_case(
        "prohibited_v4_in_bridge_mode", false,
        in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(10)))), pk::prohibited),
        error_sent("rejected", "errors_prohibited")));
    c.push_back(gen_case("too_big_v6", router,
                         in(frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(1400)))),
                            pk::too_big, 1280),
                         error_sent("mtu_exceeded", "errors_too_big")));
    c.push_back(
        drop_case("ttl_exceeded_on_a_port_without_address", router,
                  in(frame4(echo4(far4, dest4, payload(8), {.ttl = 1})), pk::ttl_exceeded, 0, 1),
                  error_not_sent("ttl_exceeded", "errors_not_sent_no_address")));
    c.push_back(drop_case("ttl_exceeded_vlan_tagged", router,
                          in(padded(corpus::cat(ether_vlan(our_mac, peer_mac, 7, 0x0800),
                                                echo4(far4, dest4, payload(8), {.ttl = 1}))),
                             pk::ttl_exceeded),
                          error_not_sent("ttl_exceeded", "errors_not_sent_no_address")));
    input short_headroom = in(frame4(echo4(far4, dest4, payload(8), {.ttl = 1})), pk::ttl_exceeded);
    short_headroom.headroom = 40;  // 40 + 14 < 14 + 40 + 8
    c.push_back(drop_case("ttl_exceeded_without_headroom", router, short_headroom,
                          error_not_sent("ttl_exceeded", "errors_not_sent_no_address")));
    return c;
}

// RFC 1812 4.3.2.7 and RFC 4443 2.4 (e): when an ICMP error must not be sent.
std::vector<stage_case> error_rule_cases() {
    constexpr bool router = true;
    using pk = punt_kind;
    std::vector<stage_case> c;
    auto icmp_v4 = [](uint8_t type) {
        return frame4(ip4(far4, dest4, p_icmp, icmp4(type, 0, 0, payload(28)), {.ttl = 1}));
    };
    auto not_sent = [&](std::string name, bytes frame, const std::string& event,
                        pk punt = pk::ttl_exceeded, uint32_t arg = 0) {
        const std::string why = punt == pk::ttl_exceeded ? "ttl_exceeded"
                                : punt == pk::no_route   ? "no_route"
                                                         : "mtu_exceeded";
        c.push_back(drop_case(std::move(name), router, in(std::move(frame), punt, arg),
                              error_not_sent(why, "errors_not_sent_" + event)));
    };
    // About an ICMP error.
    for (uint8_t t : {3, 4, 5, 11, 12}) {
        not_sent("v4_about_icmp_error_type_" + std::to_string(t), icmp_v4(t), "about_error");
    }
    not_sent("v4_no_route_about_icmp_dest_unreachable", icmp_v4(3), "about_error", pk::no_route);
    c.push_back(gen_case("v4_about_echo_request_is_sent", router, in(icmp_v4(8), pk::ttl_exceeded),
                         error_sent("ttl_exceeded", "errors_time_exceeded")));
    auto icmp_v6 = [](uint8_t type) {
        return frame6(ip6(far6, dest6, p_icmp6, icmp6(far6, dest6, type, 0, 0, payload(48)), 1));
    };
    for (uint8_t t : {1, 2, 3, 4, 127, 137}) {
        not_sent("v6_about_icmp6_type_" + std::to_string(t), icmp_v6(t), "about_error");
    }
    c.push_back(gen_case("v6_about_echo_request_is_sent", router,
                         in(icmp_v6(128), pk::ttl_exceeded),
                         error_sent("ttl_exceeded", "errors_time_exceeded")));
    // Multicast / broadcast destinations, L2 and L3.
    const bytes udp_v4 = ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(8)), {.ttl = 1});
    not_sent("v4_l2_broadcast", frame4(udp_v4, broadcast_mac), "multicast");
    not_sent("v4_l2_multicast", frame4(udp_v4, mcast4_mac), "multicast");
    not_sent("v4_l3_multicast_224_0_0_9",
             frame4(ip4(far4, {224, 0, 0, 9}, p_udp, udp4(far4, {224, 0, 0, 9}, 520, 520, {}))),
             "multicast");
    not_sent(
        "v4_l3_multicast_239_255_255_255",
        frame4(ip4(far4, {239, 255, 255, 255}, p_udp, udp4(far4, {239, 255, 255, 255}, 1, 2, {}))),
        "multicast", pk::no_route);
    not_sent(
        "v4_l3_limited_broadcast",
        frame4(ip4(far4, {255, 255, 255, 255}, p_udp, udp4(far4, {255, 255, 255, 255}, 1, 2, {}))),
        "multicast");
    not_sent("v4_frag_needed_about_multicast",
             frame4(ip4(far4, {233, 1, 2, 3}, p_udp,
                        udp4(far4, {233, 1, 2, 3}, 1, 2, payload(1400)), {.frag = 0x4000})),
             "multicast", pk::too_big, 1400);
    const bytes udp_v6 = ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(8)), 1);
    not_sent("v6_l2_multicast", frame6(udp_v6, all_nodes_mac), "multicast");
    not_sent("v6_l2_broadcast", frame6(udp_v6, broadcast_mac), "multicast");
    not_sent("v6_l3_multicast",
             frame6(ip6(far6, global_group6, p_udp, udp6(far6, global_group6, 1, 2, {}), 1),
                    {0x33, 0x33, 0, 0, 0, 1}),
             "multicast");
    not_sent("v6_no_route_l3_multicast_unicast_mac",
             frame6(ip6(far6, global_group6, p_udp, udp6(far6, global_group6, 1, 2, {}))),
             "multicast", pk::no_route);
    // Non-first fragments.
    not_sent("v4_non_first_fragment",
             frame4(ip4(far4, dest4, p_udp, payload(64), {.frag = 100, .ttl = 1})), "fragment");
    not_sent("v4_non_first_fragment_no_route",
             frame4(ip4(far4, dest4, p_icmp, payload(64), {.frag = 0x2000 | 8})), "fragment",
             pk::no_route);
    not_sent("v6_non_first_fragment",
             frame6(ip6(far6, dest6, p_frag6,
                        corpus::cat(frag6_header(p_udp, 100, false), payload(64)), 1)),
             "fragment");
    c.push_back(gen_case("v4_first_fragment_is_answered", router,
                         in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(64)),
                                       {.frag = 0x2000, .ttl = 1})),
                            pk::ttl_exceeded),
                         error_sent("ttl_exceeded", "errors_time_exceeded")));
    // Sources that are not one host.
    for (const ip4_t& src : {ip4_t{0, 0, 0, 0}, ip4_t{0, 1, 2, 3}, ip4_t{127, 0, 0, 1},
                             ip4_t{127, 255, 0, 9}, ip4_t{224, 0, 0, 1}, ip4_t{239, 1, 1, 1},
                             ip4_t{240, 0, 0, 1}, ip4_t{255, 255, 255, 255}}) {
        not_sent("v4_source_" + std::to_string(src[0]) + "_" + std::to_string(src[1]) + "_" +
                     std::to_string(src[2]) + "_" + std::to_string(src[3]),
                 frame4(ip4(src, dest4, p_udp, udp4(src, dest4, 1, 2, {}), {.ttl = 1})),
                 "bad_source");
    }
    not_sent("v6_source_unspecified",
             frame6(ip6(zero6, dest6, p_udp, udp6(zero6, dest6, 1, 2, {}), 1)), "bad_source");
    not_sent("v6_source_multicast",
             frame6(ip6(all_nodes6, dest6, p_udp, udp6(all_nodes6, dest6, 1, 2, {}), 1)),
             "bad_source");
    not_sent("v6_too_big_from_unspecified",
             frame6(ip6(zero6, dest6, p_udp, udp6(zero6, dest6, 1, 2, payload(1400)))),
             "bad_source", pk::too_big, 1280);
    // RFC 4443 2.4 (e.2, e.3): packet too big is sent about multicast.
    c.push_back(gen_case(
        "v6_too_big_about_l3_multicast_is_sent", router,
        in(frame6(ip6(far6, global_group6, p_udp, udp6(far6, global_group6, 1, 2, payload(1400))),
                  {0x33, 0x33, 0, 0, 0, 1}),
           pk::too_big, 1280),
        error_sent("mtu_exceeded", "errors_too_big")));
    c.push_back(gen_case(
        "v6_too_big_about_l2_multicast_is_sent", router,
        in(frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(1400))), all_nodes_mac),
           pk::too_big, 1280),
        error_sent("mtu_exceeded", "errors_too_big")));
    not_sent("v6_too_big_about_an_icmp6_error",
             frame6(ip6(far6, dest6, p_icmp6, icmp6(far6, dest6, 1, 0, 0, payload(1400)))),
             "about_error", pk::too_big, 1280);
    return c;
}

class responder_cases : public responder_base, public ::testing::WithParamInterface<stage_case> {};

TEST_P(responder_cases, moves_exactly_the_expected_counters) {
    const stage_case& c = GetParam();
    harness h(c.router);
    const result r = h.run({c.in});
    EXPECT_EQ(r.delta, c.expect);
    switch (c.what) {
        case fate::dropped:
            EXPECT_EQ(r.frames.size(), 0u);
            break;
        case fate::passes:
            ASSERT_EQ(r.frames.size(), 1u);
            EXPECT_EQ(r.frames[0], c.in.frame) << "a packet not for the responder is untouched";
            EXPECT_FALSE(r.generated[0]);
            EXPECT_EQ(r.punts[0], punt_kind::none);
            break;
        case fate::generated:
            ASSERT_EQ(r.frames.size(), 1u);
            EXPECT_TRUE(r.generated[0]);
            EXPECT_EQ(r.ports[0], c.in.port) << "a reply leaves by its arrival port";
            EXPECT_EQ(r.punts[0], punt_kind::none);
            EXPECT_TRUE(r.has_generated);
            EXPECT_TRUE(r.all_generated) << "TX may skip the flag scan";
            break;
    }
    if (c.what != fate::generated) {
        EXPECT_FALSE(r.all_generated);
    }
    EXPECT_FALSE(r.has_punts);
    EXPECT_TRUE(r.held.empty());
    expect_pool_full();
}

std::string case_name(const ::testing::TestParamInfo<stage_case>& info) {
    return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(responder_bridge, responder_cases, ::testing::ValuesIn(bridge_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(responder_router, responder_cases, ::testing::ValuesIn(router_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(responder_never_send, responder_cases,
                         ::testing::ValuesIn(error_rule_cases()), case_name);

// ---- exact bytes of replies and errors -----------------------------------------------

// The ICMP error the stage must build about orig (an untagged frame): back to
// its Ethernet source, from our first address, quoting the original IP packet
// up to 576 / 1280 bytes of IP in all.
bytes expected_error4(const bytes& orig, uint8_t type, uint8_t code, uint32_t rest) {
    const std::size_t total = get16(orig, 16);
    const std::size_t quote = std::min<std::size_t>(total, 576 - 20 - 8);
    mac_t back;
    std::copy_n(orig.begin() + 6, 6, back.begin());
    ip4_t to;
    std::copy_n(orig.begin() + 26, 4, to.begin());
    return corpus::cat(ether(back, our_mac, 0x0800),
                       ip4(our4, to, p_icmp, icmp4(type, code, rest, slice(orig, 14, quote)),
                           {.tos = 0xc0, .id = 0, .frag = 0, .ttl = 64}));
}
bytes expected_error6(const bytes& orig, uint8_t type, uint8_t code, uint32_t rest) {
    const std::size_t total = 40 + get16(orig, 18);
    const std::size_t quote = std::min<std::size_t>(total, 1280 - 40 - 8);
    mac_t back;
    std::copy_n(orig.begin() + 6, 6, back.begin());
    ip6_t to;
    std::copy_n(orig.begin() + 22, 16, to.begin());
    return corpus::cat(
        ether(back, our_mac, 0x86dd),
        ip6(our6, to, p_icmp6, icmp6(our6, to, type, code, rest, slice(orig, 14, quote)), 64));
}

class responder_frames : public responder_base {};

TEST_F(responder_frames, echo_reply_v4_swaps_addresses_keeps_id_seq_payload_ttl_64) {
    for (std::size_t len :
         {std::size_t{0}, std::size_t{4}, std::size_t{56}, std::size_t{57}, std::size_t{1472}}) {
        SCOPED_TRACE("payload " + std::to_string(len));
        const bytes data = payload(len, static_cast<uint8_t>(len));
        const ip4_opts o{.tos = 0x10, .id = 0x4242, .frag = 0x4000, .ttl = 57};
        harness h(false);
        const bytes request = frame4(echo4(peer4, our4, data, o));
        const result r = h.run({in(request)});
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        const ip4_opts ro{.tos = 0x10, .id = 0x4242, .frag = 0x4000, .ttl = 64};
        const bytes expect =
            corpus::cat(ether(peer_mac, our_mac, 0x0800),
                        ip4(our4, peer4, p_icmp, icmp4(0, 0, 0x4d2'0007, data), ro));
        EXPECT_EQ(r.frames[0], expect);
        EXPECT_EQ(r.frames[0].size(), 14 + 20 + 8 + len) << "Ethernet padding cut";
        EXPECT_EQ(get32(r.frames[0], 38), 0x4d2'0007u) << "identifier and sequence";
        EXPECT_EQ(r.frames[0][22], 64) << "TTL";
        EXPECT_EQ(r.ports[0], 0);
    }
}

// A chained request: the checksum check walks the segments. Even and odd
// segment boundaries (counted from the ICMP header) both.
TEST_F(responder_frames, echo_reply_from_chained_requests) {
    struct chain_case {
        const char* name;
        bool v6;
        std::vector<std::size_t> segments;
    };
    const std::vector<chain_case> cases = {
        {"v4_even_boundaries", false, {100, 334, 8}}, {"v4_odd_boundaries", false, {101, 333, 7}},
        {"v4_one_odd_boundary", false, {43, 1000}},   {"v6_even_boundaries", true, {120, 500}},
        {"v6_odd_boundaries", true, {121, 499}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const bytes data = payload(1472, 3);
        harness h(false);
        input i = in(c.v6 ? frame6(echo6(peer6, our6, data)) : frame4(echo4(peer4, our4, data)));
        i.segments = c.segments;
        const result r = h.run({i});
        EXPECT_EQ(r.delta, replied(c.v6 ? "echo6_replies" : "echo_replies"));
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        const bytes expect =
            c.v6 ? corpus::cat(
                       ether(peer_mac, our_mac, 0x86dd),
                       ip6(our6, peer6, p_icmp6, icmp6(our6, peer6, 129, 0, 0x4d2'0007, data), 64))
                 : corpus::cat(ether(peer_mac, our_mac, 0x0800),
                               ip4(our4, peer4, p_icmp, icmp4(0, 0, 0x4d2'0007, data)));
        EXPECT_EQ(r.frames[0], expect);
        EXPECT_EQ(r.segs[0], c.segments.size() + 1);
    }
}

TEST_F(responder_frames, echo_reply_v4_with_headers_split_is_dropped_not_misread) {
    harness h(false);
    input i = in(frame4(echo4(peer4, our4, payload(64))));
    i.segments = {38};  // the ICMP header straddles the first two segments
    const result r = h.run({i});
    EXPECT_EQ(r.delta, dropped("icmp_bad_checksum"));
    EXPECT_TRUE(r.frames.empty());
}

TEST_F(responder_frames, echo_reply_v6_swaps_addresses_keeps_id_seq_payload_hop_limit_64) {
    for (std::size_t len :
         {std::size_t{0}, std::size_t{56}, std::size_t{57}, std::size_t{1452}, std::size_t{1472}}) {
        SCOPED_TRACE("payload " + std::to_string(len));
        const bytes data = payload(len, static_cast<uint8_t>(len + 1));
        harness h(false);
        const result r = h.run({in(frame6(echo6(peer6, our6, data, 3)))});
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        const bytes expect = corpus::cat(
            ether(peer_mac, our_mac, 0x86dd),
            ip6(our6, peer6, p_icmp6, icmp6(our6, peer6, 129, 0, 0x4d2'0007, data), 64));
        EXPECT_EQ(r.frames[0], expect);
        EXPECT_EQ(r.frames[0].size(), 14 + 40 + 8 + len);
        EXPECT_EQ(r.frames[0][21], 64) << "hop limit";
    }
}

TEST_F(responder_frames, arp_reply_exact_bytes) {
    harness h(false);
    const result r = h.run({in(arp_frame(1, peer_mac, peer4, our4))});
    ASSERT_EQ(r.frames.size(), 1u);
    const bytes expect = padded(
        corpus::cat(ether(peer_mac, our_mac, 0x0806), arp_body(2, our_mac, our4, peer_mac, peer4)));
    EXPECT_EQ(r.frames[0], expect);
    EXPECT_EQ(r.frames[0].size(), 60u);
}

TEST_F(responder_frames, arp_reply_to_a_long_request_is_cut_to_60_bytes) {
    harness h(false);
    bytes request = corpus::cat(ether(broadcast_mac, peer_mac, 0x0806),
                                arp_body(1, peer_mac, peer4, zero_mac, our4));
    request = corpus::cat(request, bytes(100, 0xee));  // trailer after the ARP message
    const result r = h.run({in(request)});
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].size(), 60u);
    EXPECT_EQ(slice(r.frames[0], 0, 42), corpus::cat(ether(peer_mac, our_mac, 0x0806),
                                                     arp_body(2, our_mac, our4, peer_mac, peer4)));
}

bytes expected_na(const mac_t& eth_dst, const ip6_t& dst, uint32_t flags) {
    bytes body;
    append(body, our6);
    append(body, lla_option(2, our_mac));
    return corpus::cat(ether(eth_dst, our_mac, 0x86dd),
                       ip6(our6, dst, p_icmp6, icmp6(our6, dst, 136, 0, flags, body), 255));
}

TEST_F(responder_frames, neighbor_advertisement_exact_bytes) {
    struct na_case {
        const char* name;
        bool router;
        bytes ns;
        bytes expect;
    };
    const std::vector<na_case> cases = {
        {"to_group_with_slla", false,
         frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac),
         expected_na(peer_mac, peer6, 0x60000000)},
        {"unicast", false, frame6(ns6(peer6, our6, our6, {})),
         expected_na(peer_mac, peer6, 0x60000000)},
        {"dad_to_all_nodes_without_s", false, frame6(ns6(zero6, our_sn6, our6, {}), our_sn_mac),
         expected_na(all_nodes_mac, all_nodes6, 0x20000000)},
        {"router_sets_r", true,
         frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac),
         expected_na(peer_mac, peer6, 0xe0000000)},
        {"extra_unknown_option_ignored", false,
         frame6(ns6(peer6, our_sn6, our6,
                    corpus::cat(bytes{14, 1, 1, 2, 3, 4, 5, 6}, lla_option(1, peer_mac))),
                our_sn_mac),
         expected_na(peer_mac, peer6, 0x60000000)},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        harness h(c.router);
        const result r = h.run({in(c.ns, c.router ? punt_kind::local : punt_kind::none)});
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        EXPECT_EQ(r.frames[0], c.expect);
        EXPECT_EQ(r.frames[0].size(), 86u);
    }
}

TEST_F(responder_frames, icmp4_errors_exact_bytes_and_quote_length) {
    struct err_case {
        std::string name;
        bool router;
        input in;
        uint8_t type, code;
        uint32_t rest;
        std::size_t ip_total;  // of the error
    };
    using pk = punt_kind;
    const bytes small_udp = frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 161, {})));
    const bytes udp_1500 =
        frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 161, payload(1472))));
    const bytes udp_548 = frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 161, payload(520))));
    const bytes udp_549 = frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 161, payload(521))));
    const bytes with_options =
        frame4(ip4(far4, dest4, p_icmp, icmp4(8, 0, 1, payload(40)),
                   {.ttl = 1, .options = bytes{0x94, 0x04, 0x00, 0x00}}));  // router alert
    const bytes ttl1 = frame4(echo4(far4, dest4, payload(1472), {.ttl = 1}));
    const bytes df_1500 =
        frame4(ip4(far4, dest4, p_tcp, corpus::tcp(1, 2, 0x10, 5, 1460), {.frag = 0x4000}));
    input chained = in(ttl1, pk::ttl_exceeded);
    chained.segments = {98, 78};  // the quote crosses segments at even offsets
    const std::vector<err_case> cases = {
        {"port_unreachable_small_padded", false, in(small_udp), 3, 3, 0, 28 + 28},
        {"port_unreachable_1500", false, in(udp_1500), 3, 3, 0, 576},
        {"port_unreachable_quote_exactly_548", false, in(udp_548), 3, 3, 0, 576},
        {"port_unreachable_quote_549_cut_to_548", false, in(udp_549), 3, 3, 0, 576},
        {"time_exceeded_with_ip_options", true, in(with_options, pk::ttl_exceeded), 11, 0, 0,
         28 + 24 + 48},
        {"time_exceeded_1500", true, in(ttl1, pk::ttl_exceeded), 11, 0, 0, 576},
        {"time_exceeded_1500_chained", true, chained, 11, 0, 0, 576},
        {"net_unreachable", true, in(ttl1, pk::no_route), 3, 0, 0, 576},
        {"frag_needed_carries_the_mtu", true, in(df_1500, pk::too_big, 1400), 3, 4, 1400, 576},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        harness h(c.router);
        const result r = h.run({c.in});
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        const bytes& e = r.frames[0];
        EXPECT_EQ(e, expected_error4(c.in.frame, c.type, c.code, c.rest));
        EXPECT_EQ(e.size(), 14 + c.ip_total);
        EXPECT_EQ(get16(e, 16), c.ip_total) << "IP total length";
        EXPECT_LE(get16(e, 16), 576);
        EXPECT_EQ(e[34], c.type);
        EXPECT_EQ(e[35], c.code);
        EXPECT_EQ(get32(e, 38), c.rest);
        EXPECT_EQ(e[15], 0xc0) << "TOS: internetwork control";
        EXPECT_EQ(e[22], 64) << "TTL";
        EXPECT_EQ(slice(e, 26, 4), bytes(our4.begin(), our4.end()));
        EXPECT_EQ(slice(e, 0, 6), slice(c.in.frame, 6, 6)) << "back to the frame's source";
        EXPECT_EQ(slice(e, 42, e.size() - 42),
                  slice(c.in.frame, 14, std::min<std::size_t>(get16(c.in.frame, 16), 548)))
            << "quote";
        EXPECT_EQ(r.ports[0], 0);
    }
    // frag-needed: unused 16 bits, then the next-hop MTU (RFC 1191).
    harness h(true);
    const result r = h.run({in(df_1500, pk::too_big, 1400)});
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(get16(r.frames[0], 38), 0);
    EXPECT_EQ(get16(r.frames[0], 40), 1400);
}

TEST_F(responder_frames, icmp6_errors_exact_bytes_and_quote_length) {
    struct err_case {
        std::string name;
        bool router;
        input in;
        uint8_t type, code;
        uint32_t rest;
        std::size_t ip_total;
    };
    using pk = punt_kind;
    const bytes small_udp = frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 9, 161, {})));
    const bytes udp_1500 =
        frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 9, 161, payload(1452))));
    const bytes udp_1232 =
        frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 9, 161, payload(1184))));
    const bytes udp_1233 =
        frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 9, 161, payload(1185))));
    const bytes hop1 = frame6(echo6(far6, dest6, payload(1452), 1));
    const bytes big = frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(1452))));
    input chained = in(hop1, pk::ttl_exceeded);
    chained.segments = {74, 1000};  // the quote crosses segments at even offsets
    const std::vector<err_case> cases = {
        {"port_unreachable_small", false, in(small_udp), 1, 4, 0, 48 + 48},
        {"port_unreachable_1500", false, in(udp_1500), 1, 4, 0, 1280},
        {"port_unreachable_quote_exactly_1232", false, in(udp_1232), 1, 4, 0, 1280},
        {"port_unreachable_quote_1233_cut", false, in(udp_1233), 1, 4, 0, 1280},
        {"time_exceeded", true, in(hop1, pk::ttl_exceeded), 3, 0, 0, 1280},
        {"time_exceeded_chained", true, chained, 3, 0, 0, 1280},
        {"no_route", true, in(big, pk::no_route), 1, 0, 0, 1280},
        {"packet_too_big_carries_the_mtu", true, in(big, pk::too_big, 1280), 2, 0, 1280, 1280},
        {"packet_too_big_mtu_9000", true, in(big, pk::too_big, 9000), 2, 0, 9000, 1280},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        harness h(c.router);
        const result r = h.run({c.in});
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        const bytes& e = r.frames[0];
        EXPECT_EQ(e, expected_error6(c.in.frame, c.type, c.code, c.rest));
        EXPECT_EQ(e.size(), 14 + c.ip_total);
        EXPECT_EQ(40u + get16(e, 18), c.ip_total) << "IPv6 40 + payload length";
        EXPECT_LE(40u + get16(e, 18), 1280u);
        EXPECT_EQ(e[54], c.type);
        EXPECT_EQ(e[55], c.code);
        EXPECT_EQ(get32(e, 58), c.rest);
        EXPECT_EQ(e[21], 64) << "hop limit";
        EXPECT_EQ(slice(e, 22, 16), bytes(our6.begin(), our6.end()));
        EXPECT_EQ(slice(e, 62, e.size() - 62),
                  slice(c.in.frame, 14, std::min<std::size_t>(40u + get16(c.in.frame, 18), 1232)))
            << "quote";
    }
}

// The quoted packet crosses a segment boundary at an odd offset from the
// start of the ICMP message: the ICMP checksum must still cover it right.
TEST_F(responder_frames, icmp_errors_about_chains_split_at_odd_offsets) {
    struct odd_case {
        const char* name;
        bool v6;
        std::vector<std::size_t> segments;
    };
    const std::vector<odd_case> cases = {
        {"v4_99_77", false, {99, 77}}, {"v4_15_rest", false, {15}},
        {"v4_301_rest", false, {301}}, {"v6_75_1000", true, {75, 1000}},
        {"v6_101_rest", true, {101}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const bytes orig = c.v6 ? frame6(echo6(far6, dest6, payload(1452), 1))
                                : frame4(echo4(far4, dest4, payload(1472), {.ttl = 1}));
        input i = in(orig, punt_kind::ttl_exceeded);
        i.segments = c.segments;
        harness h(true);
        const result r = h.run({i});
        EXPECT_EQ(r.delta, error_sent("ttl_exceeded", "errors_time_exceeded"));
        if (r.frames.size() != 1) {
            ADD_FAILURE() << "no frame";
            continue;
        }
        const bytes expect =
            c.v6 ? expected_error6(orig, 3, 0, 0) : expected_error4(orig, 11, 0, 0);
        EXPECT_EQ(r.frames[0].size(), expect.size());
        const std::size_t ck = c.v6 ? 56 : 36;
        EXPECT_EQ(get16(r.frames[0], ck), get16(expect, ck)) << "ICMP checksum";
        EXPECT_EQ(r.frames[0], expect);
    }
}

// ---- bursts, egress, learning, the slow path ---------------------------------------

class responder_stage_test : public responder_base {};

TEST_F(responder_stage_test, router_burst_keeps_order_and_materialises_egress) {
    harness h(true);
    const bytes transit = frame4(echo4(far4, dest4, payload(8)));
    const result r =
        h.run({in(transit),
               in(frame4(echo4(far4, dest4, payload(8), {.ttl = 1})), punt_kind::ttl_exceeded),
               in(transit), in(arp_frame(1, peer_mac, peer4, our4), punt_kind::arp),
               in(frame4(ip4(peer4, our4, p_tcp, tcp_syn(1, 2))), punt_kind::local),
               in(frame4(echo4(peer4, our4, payload(8))), punt_kind::local)},
              0, /*out_port=*/5);
    ASSERT_EQ(r.frames.size(), 5u);
    EXPECT_EQ(r.frames[0], transit);
    EXPECT_EQ(r.frames[2], transit);
    EXPECT_EQ(get16(r.frames[1], 12), 0x0800);
    EXPECT_EQ(r.frames[1][34], 11) << "time exceeded";
    EXPECT_EQ(get16(r.frames[3], 12), 0x0806);
    EXPECT_EQ(r.frames[4][34], 0) << "echo reply";
    EXPECT_EQ(r.ports, (std::vector<uint16_t>{5, 0, 5, 0, 0}));
    EXPECT_EQ(r.generated, (std::vector<bool>{false, true, false, true, true}));
    EXPECT_EQ(r.out_port, no_port);
    EXPECT_TRUE(r.has_generated);
    EXPECT_FALSE(r.all_generated) << "two packets pass unchanged";
    EXPECT_FALSE(r.has_punts);
    EXPECT_EQ(r.delta, (counts{{"consumed", 2},
                               {"generated", 3},
                               {"drops.ttl_exceeded", 1},
                               {"drops.no_local_service", 1},
                               {"events.errors_time_exceeded", 1},
                               {"events.arp_replies", 1},
                               {"events.echo_replies", 1}}));
    ASSERT_EQ(r.learned.size(), 1u) << "the ARP requester is learned";
}

TEST_F(responder_stage_test, bridge_burst_without_local_traffic_keeps_out_port) {
    harness h(false);
    const bytes a = frame4(echo4(peer4, dest4, payload(8)));
    const result r = h.run({in(a), in(a)}, 0, 3);
    EXPECT_EQ(r.out_port, 3) << "nothing for us: the burst's egress stays burst-wide";
    EXPECT_EQ(r.frames, (std::vector<bytes>{a, a}));
    EXPECT_EQ(r.delta, nothing);
    EXPECT_FALSE(r.has_generated);
    EXPECT_FALSE(r.all_generated);
}

TEST_F(responder_stage_test, bridge_burst_with_a_reply_materialises_egress) {
    harness h(false);
    const bytes a = frame4(echo4(peer4, dest4, payload(8)));
    const result r = h.run({in(a), in(frame4(echo4(peer4, our4, payload(8)))), in(a)}, 0, 3);
    EXPECT_EQ(r.out_port, no_port);
    EXPECT_EQ(r.ports, (std::vector<uint16_t>{3, 0, 3}));
    EXPECT_EQ(r.delta, replied("echo_replies"));
}

TEST_F(responder_stage_test, router_ignores_punt_marks_without_has_punts) {
    const bytes arp = arp_frame(1, peer_mac, peer4, our4);
    // has_punts false: the stage must not look at the marks.
    {
        burst b;
        rte_mbuf* m = make_mbuf(in(arp));
        ASSERT_NE(m, nullptr);
        ASSERT_FALSE(parse_packet(m, *meta_of(m)).has_value());
        meta_of(m)->punt = punt_kind::arp;
        b.pkts[0] = m;
        b.count = 1;
        b.has_punts = false;
        auto counters = std::make_unique<segment_counters>();
        stage_context ctx(*counters, shared().store->current());
        respond_stage st(shared().slow.get(), 0, responder_settings{true, {}}, test_hz);
        st.process(b, ctx);
        ctx.free_discarded();
        EXPECT_EQ(b.count, 1);
        EXPECT_EQ(snapshot(*counters), nothing);
        rte_pktmbuf_free(m);
    }
}

TEST_F(responder_stage_test, unresolved_goes_to_the_punt_ring_with_its_mark) {
    harness h(true);
    const bytes f = frame4(echo4(far4, dest4, payload(8)));
    const result r = h.run({in(f, punt_kind::unresolved, 17)});
    EXPECT_TRUE(r.frames.empty());
    EXPECT_EQ(r.delta, nothing) << "held, not dropped nor consumed";
    ASSERT_EQ(r.held.size(), 1u);
    EXPECT_EQ(r.held[0], f);
    EXPECT_EQ(r.held_punts[0], punt_kind::unresolved);
}

TEST_F(responder_stage_test, router_learns_arp_and_ndp_senders) {
    harness h(true);
    auto expect_msg = [](const learn_message& m, bool v6, const mac_t& mac, const uint8_t* addr,
                         bool targeted) {
        EXPECT_EQ(m.v6, v6 ? 1 : 0);
        EXPECT_EQ(m.port, 0);
        EXPECT_EQ(m.targeted, targeted ? 1 : 0);
        EXPECT_EQ(std::memcmp(m.mac, mac.data(), 6), 0);
        EXPECT_EQ(std::memcmp(m.address, addr, v6 ? 16 : 4), 0);
    };
    {
        SCOPED_TRACE("ARP request for us");
        const result r = h.run({in(arp_frame(1, peer_mac, peer4, our4), punt_kind::arp)});
        ASSERT_EQ(r.learned.size(), 1u);
        expect_msg(r.learned[0], false, peer_mac, peer4.data(), true);
    }
    {
        SCOPED_TRACE("ARP reply to us: consumed, learned");
        const result r = h.run(
            {in(arp_frame(2, peer_mac, peer4, our4, our_mac, peer_mac, our_mac), punt_kind::arp)});
        EXPECT_EQ(r.delta, consumed());
        ASSERT_EQ(r.learned.size(), 1u);
        expect_msg(r.learned[0], false, peer_mac, peer4.data(), true);
    }
    {
        SCOPED_TRACE("gratuitous ARP: learned, not targeted, not for us");
        const result r = h.run({in(arp_frame(1, peer_mac, peer4, peer4), punt_kind::arp)});
        EXPECT_EQ(r.delta, dropped("arp_not_for_us"));
        ASSERT_EQ(r.learned.size(), 1u);
        expect_msg(r.learned[0], false, peer_mac, peer4.data(), false);
    }
    {
        SCOPED_TRACE("ARP probe (sender 0.0.0.0): answered, not learned");
        const result r = h.run({in(arp_frame(1, peer_mac, zero4, our4), punt_kind::arp)});
        EXPECT_EQ(r.delta, replied("arp_replies"));
        EXPECT_TRUE(r.learned.empty());
    }
    {
        SCOPED_TRACE("ARP request for someone else: not learned");
        const result r = h.run({in(arp_frame(1, peer_mac, peer4, unowned4), punt_kind::arp)});
        EXPECT_TRUE(r.learned.empty());
    }
    {
        SCOPED_TRACE("NS with source link-layer address");
        const result r =
            h.run({in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, other_mac)), our_sn_mac),
                      punt_kind::local)});
        ASSERT_EQ(r.learned.size(), 1u);
        expect_msg(r.learned[0], true, other_mac, peer6.data(), true);
    }
    {
        SCOPED_TRACE("NS without option: answered, nothing to learn");
        const result r = h.run({in(frame6(ns6(peer6, our6, our6, {})), punt_kind::local)});
        EXPECT_EQ(r.delta, replied("neighbor_advertisements"));
        EXPECT_TRUE(r.learned.empty());
    }
    {
        SCOPED_TRACE("solicited NA with target link-layer address");
        const result r =
            h.run({in(frame6(na6(peer6, our6, peer6, 0x60000000, lla_option(2, other_mac))),
                      punt_kind::local)});
        EXPECT_EQ(r.delta, consumed());
        ASSERT_EQ(r.learned.size(), 1u);
        expect_msg(r.learned[0], true, other_mac, peer6.data(), true);
    }
    {
        SCOPED_TRACE("unsolicited NA: learned, not targeted");
        const result r =
            h.run({in(frame6(na6(peer6, all_nodes6, peer6, 0x20000000, lla_option(2, other_mac)),
                             all_nodes_mac),
                      punt_kind::local)});
        EXPECT_EQ(r.delta, consumed());
        ASSERT_EQ(r.learned.size(), 1u);
        expect_msg(r.learned[0], true, other_mac, peer6.data(), false);
    }
}

TEST_F(responder_stage_test, bridge_learns_nothing) {
    harness h(false);
    const result r =
        h.run({in(arp_frame(1, peer_mac, peer4, our4)),
               in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac))});
    EXPECT_EQ(r.frames.size(), 2u);
    EXPECT_TRUE(r.learned.empty());
}

TEST_F(responder_stage_test, no_fib_published_leaves_the_burst_alone) {
    generation_store empty(nullptr);
    harness h(false, {}, &empty);
    const bytes f = frame4(echo4(peer4, our4, payload(8)));
    const result r = h.run({in(f)});
    EXPECT_EQ(r.frames, std::vector<bytes>{f});
    EXPECT_EQ(r.delta, nothing);
}

TEST_F(responder_stage_test, bridge_without_addresses_leaves_the_burst_alone) {
    std::string error;
    auto f = make_fib(false, error);
    ASSERT_TRUE(f) << error;
    const auto store = unit::store_with(std::move(f));
    harness h(false, {}, store.get());
    const bytes arp = arp_frame(1, peer_mac, peer4, our4);
    const result r = h.run({in(arp)});
    EXPECT_EQ(r.frames, std::vector<bytes>{arp});
    EXPECT_EQ(r.delta, nothing);
}

// A bridge whose interface has only an IPv6 address answers no IPv4 echo,
// also on the ping-flood loop (a burst from one port, sent back out of it).
TEST_F(responder_stage_test, bridge_with_only_ipv6_addresses_passes_ipv4_echo_requests) {
    fib_port p0;
    p0.id = 0;
    p0.mac = to_ether(our_mac);
    p0.addr6 = {our6};
    std::string error;
    auto f = fib::build(resolved_router{}, {{"p0", p0}}, 1, shared().slow->neighbors(),
                        /*tables=*/false, error);
    ASSERT_TRUE(f) << error;
    const auto store = unit::store_with(std::move(f));
    harness h(false, {}, store.get());
    const bytes to_us = frame4(echo4(peer4, our4, payload(8)));
    const bytes to_zero = frame4(echo4(peer4, {0, 0, 0, 0}, payload(8)));
    const result r = h.run({in(to_us), in(to_zero)}, 0, /*out_port=*/0);
    EXPECT_EQ(r.frames, (std::vector<bytes>{to_us, to_zero}));
    EXPECT_EQ(r.delta, nothing);
    EXPECT_FALSE(r.has_generated);
}

// The ping-flood loop answers a burst of requests from one port and stops
// at the first packet it does not handle; the rest go the general way.
TEST_F(responder_stage_test, ping_flood_loop_answers_until_the_first_other_packet) {
    harness h(false);
    const bytes request = frame4(echo4(peer4, our4, payload(56)));
    bytes bad = request;
    bad[14 + 20 + 2] ^= 0x01;  // ICMP checksum off by one bit
    const bytes transit = frame4(echo4(peer4, dest4, payload(8)));
    const result r = h.run(
        {in(request), in(request), in(bad), in(request), in(transit), in(request)}, 0, 0);
    ASSERT_EQ(r.frames.size(), 5u);
    EXPECT_EQ(r.generated, (std::vector<bool>{true, true, true, false, true}));
    EXPECT_EQ(r.frames[3], transit);
    for (std::size_t k : {0u, 1u, 2u, 4u}) {
        EXPECT_EQ(r.frames[k][34], 0) << "echo reply " << k;
        EXPECT_EQ(r.ports[k], 0);
    }
    EXPECT_FALSE(r.all_generated);
    EXPECT_EQ(r.delta, (counts{{"consumed", 4},
                               {"generated", 4},
                               {"drops.icmp_bad_checksum", 1},
                               {"events.echo_replies", 4}}));
}

// Bridge mode's fused parse+bridge+respond stage against parse, bridge and
// respond one after the other, on a one-armed bridge (port 0 peered with
// itself) with the responder's addresses: random bursts of echo requests
// for us (the fused stage's fast head) mixed with everything else the
// responder decides on. Frames, order, egress, generated flags, burst flags
// and every counter must be the same.
class fused_bridge_test : public responder_base {
  protected:
    struct outcome {
        std::vector<bytes> frames;
        std::vector<uint16_t> ports;
        std::vector<bool> generated;
        uint16_t out_port = no_port;
        bool has_generated = false;
        bool all_generated = false;
        counts delta;
    };

    // Each call builds fresh stages (fresh rate limiters) and runs items
    // through them at TSC time 0.
    static outcome run(const std::vector<input>& items, bool fused) {
        const std::vector<port_plan> ports = {port_plan{0, "p0", 0}};
        const responder_settings settings{false, error_limits{}};
        auto counters = std::make_unique<segment_counters>();
        stage_context ctx(*counters, shared().store->current());
        ctx.set_now(0);
        burst b;
        for (const input& i : items) {
            rte_mbuf* m = make_mbuf(i);
            if (m == nullptr) {
                continue;
            }
            std::memset(static_cast<void*>(meta_of(m)), 0xa5, sizeof(packet_meta));
            b.pkts[b.count++] = m;
        }
        b.in_port = 0;
        const counts before = snapshot(*counters);
        if (fused) {
            parse_bridge_respond_stage s(ports, shared().slow.get(), 0, settings, test_hz);
            s.process(b, ctx);
        } else {
            parse_stage p;
            bridge_stage br(ports);
            respond_stage r(shared().slow.get(), 0, settings, test_hz);
            p.process(b, ctx);
            br.process(b, ctx);
            r.process(b, ctx);
        }
        outcome o;
        o.out_port = b.out_port;
        o.has_generated = b.has_generated;
        o.all_generated = b.all_generated;
        for (uint16_t k = 0; k < b.count; ++k) {
            bool chain_ok = false;
            o.frames.push_back(frame_of(b.pkts[k], chain_ok));
            EXPECT_TRUE(chain_ok);
            o.ports.push_back(b.out_port != no_port ? b.out_port : b.pkts[k]->port);
            o.generated.push_back(is_generated(b.pkts[k]));
            rte_pktmbuf_free(b.pkts[k]);
        }
        ctx.free_discarded();
        o.delta = minus(snapshot(*counters), before);
        // Nothing may stay on the slow path's rings between runs.
        learn_message msg;
        while (rte_ring_sc_dequeue_elem(shared().slow->learn(0), &msg, sizeof msg) == 0) {
        }
        return o;
    }
};

TEST_F(fused_bridge_test, matches_parse_bridge_respond_on_random_bursts) {
    std::mt19937 rng(4792);
    std::size_t fast_heads = 0;  // rounds that start with an echo request for us
    for (int round = 0; round < 1500; ++round) {
        const unsigned n = 1 + rng() % 48;
        std::vector<input> items;
        for (unsigned k = 0; k < n; ++k) {
            const auto size = static_cast<std::size_t>(rng() % 200);
            ip4_opts o;
            o.ttl = static_cast<uint8_t>(rng() % 4 == 0 ? rng() % 3 : 64);
            const unsigned kind = rng() % 4 == 0 ? 1 + rng() % 12 : 0;
            fast_heads += k == 0 && kind == 0;
            switch (kind) {
                case 0:  // an echo request for us: the fast head
                    items.push_back(in(frame4(echo4(peer4, our4, payload(size), o))));
                    break;
                case 11:  // an echo reply for us
                    items.push_back(in(frame4(ip4(peer4, our4, p_icmp,
                                                  icmp4(0, 0, 0x4d2'0007, payload(size)), o))));
                    break;
                case 1:  // bad ICMP checksum
                    items.push_back(in(frame4(echo4(peer4, our4, payload(size), o, true))));
                    break;
                case 2:  // for someone else: bridged
                    items.push_back(in(frame4(echo4(peer4, dest4, payload(size), o))));
                    break;
                case 3:  // to an address of the subnet we do not own
                    items.push_back(in(frame4(echo4(peer4, unowned4, payload(size), o))));
                    break;
                case 4: {  // chained at an odd offset
                    input i = in(frame4(echo4(peer4, our4, payload(size + 40), o)));
                    i.segments = {14 + 20 + 3};
                    items.push_back(i);
                    break;
                }
                case 5:  // UDP to us: port unreachable (rate-limited)
                    items.push_back(in(frame4(udp4(peer4, our4, 1000, 9, payload(size)))));
                    break;
                case 6:  // ARP request for us
                    items.push_back(in(arp_frame(1, peer_mac, peer4, our4)));
                    break;
                case 7:  // IPv6 echo for us
                    items.push_back(in(frame6(echo6(peer6, our6, payload(size)))));
                    break;
                case 8:  // a fragment for us
                    o.frag = 0x2000;
                    items.push_back(in(frame4(echo4(peer4, our4, payload(size), o))));
                    break;
                case 9: {  // malformed
                    const auto corpus = corpus::malformed_corpus();
                    items.push_back(in(corpus[rng() % corpus.size()].frame));
                    break;
                }
                default:  // padded to 60 bytes
                    items.push_back(in(padded(frame4(echo4(peer4, our4, payload(rng() % 10))))));
            }
        }
        const outcome want = run(items, false);
        const outcome got = run(items, true);
        ASSERT_EQ(got.frames.size(), want.frames.size()) << "round " << round;
        for (std::size_t k = 0; k < want.frames.size(); ++k) {
            ASSERT_EQ(got.frames[k], want.frames[k]) << "round " << round << " packet " << k;
        }
        ASSERT_EQ(got.ports, want.ports) << "round " << round;
        ASSERT_EQ(got.generated, want.generated) << "round " << round;
        ASSERT_EQ(got.out_port, want.out_port) << "round " << round;
        ASSERT_EQ(got.has_generated, want.has_generated) << "round " << round;
        ASSERT_EQ(got.all_generated, want.all_generated) << "round " << round;
        ASSERT_EQ(got.delta, want.delta) << "round " << round;
    }
    EXPECT_GT(fast_heads, 500u);
}

// The fused stage answers the head itself: the replies' metadata area is
// not written, and the counters move as the ping-flood loop moves them.
TEST_F(fused_bridge_test, answers_echo_requests_without_writing_metadata) {
    std::vector<input> items;
    for (int k = 0; k < 8; ++k) {
        items.push_back(in(frame4(echo4(peer4, our4, payload(18)))));
    }
    const std::vector<port_plan> ports = {port_plan{0, "p0", 0}};
    auto counters = std::make_unique<segment_counters>();
    stage_context ctx(*counters, shared().store->current());
    burst b;
    for (const input& i : items) {
        rte_mbuf* m = make_mbuf(i);
        ASSERT_NE(m, nullptr);
        std::memset(static_cast<void*>(meta_of(m)), 0xa5, sizeof(packet_meta));
        b.pkts[b.count++] = m;
    }
    b.in_port = 0;
    parse_bridge_respond_stage s(ports, shared().slow.get(), 0, responder_settings{}, test_hz);
    EXPECT_EQ(s.name(), "parse+bridge+respond");
    s.process(b, ctx);
    ASSERT_EQ(b.count, 8);
    EXPECT_TRUE(b.all_generated);
    EXPECT_EQ(b.out_port, 0);
    for (uint16_t k = 0; k < b.count; ++k) {
        const auto* meta = reinterpret_cast<const uint8_t*>(meta_of(b.pkts[k]));
        EXPECT_TRUE(std::all_of(meta, meta + sizeof(packet_meta),
                                [](uint8_t v) { return v == 0xa5; }))
            << "packet " << k << ": metadata written";
        EXPECT_EQ(rte_pktmbuf_mtod(b.pkts[k], const uint8_t*)[34], 0) << "an echo reply";
        rte_pktmbuf_free(b.pkts[k]);
    }
    ctx.free_discarded();
    EXPECT_EQ(counters->consumed.get(), 8u);
    EXPECT_EQ(counters->generated.get(), 8u);
    EXPECT_EQ(counters->events[static_cast<std::size_t>(event::echo_replies)].get(), 8u);
}

// ---- 3: rate limiting --------------------------------------------------------------

TEST(rate_limit, token_bucket_starts_full_with_burst) {
    token_bucket b(10, 5, test_hz);
    b.refill(0);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(b.has_token()) << i;
        b.take();
    }
    EXPECT_FALSE(b.has_token());
    b.refill(0);
    EXPECT_FALSE(b.has_token()) << "no time passed";
}

TEST(rate_limit, token_bucket_first_refill_only_starts_the_clock) {
    token_bucket b(10, 2, test_hz);
    b.refill(1'000'000);  // a late first call adds nothing beyond the initial burst
    b.take();
    b.take();
    EXPECT_FALSE(b.has_token());
    b.refill(1'000'099);
    EXPECT_FALSE(b.has_token()) << "99 ms at 10/s = 0.99 token";
    b.refill(1'000'100);
    EXPECT_TRUE(b.has_token());
}

TEST(rate_limit, token_bucket_refills_at_rate) {
    token_bucket b(10, 5, test_hz);  // one token per 100 ms
    b.refill(0);
    for (int i = 0; i < 5; ++i) {
        b.take();
    }
    b.refill(99);
    EXPECT_FALSE(b.has_token());
    b.refill(100);
    ASSERT_TRUE(b.has_token());
    b.take();
    EXPECT_FALSE(b.has_token());
    b.refill(350);  // 250 ms more: 2.5 tokens
    int n = 0;
    while (b.has_token()) {
        b.take();
        ++n;
    }
    EXPECT_EQ(n, 2);
    b.refill(400);  // the half token kept: 0.5 + 0.5
    EXPECT_TRUE(b.has_token());
}

TEST(rate_limit, token_bucket_fractional_rate_is_exact) {
    token_bucket b(3, 1, test_hz);  // one token per 333.3 ms
    b.refill(0);
    b.take();
    b.refill(333);
    EXPECT_FALSE(b.has_token()) << "333 ms * 3/s = 0.999";
    b.refill(334);
    EXPECT_TRUE(b.has_token());
}

TEST(rate_limit, token_bucket_saturates_at_burst) {
    for (uint64_t later : {uint64_t{500}, uint64_t{501}, uint64_t{10'000}, uint64_t{1} << 50}) {
        SCOPED_TRACE(later);
        token_bucket b(10, 5, test_hz);
        b.refill(0);
        for (int i = 0; i < 5; ++i) {
            b.take();
        }
        b.refill(later);
        int n = 0;
        while (b.has_token() && n < 100) {
            b.take();
            ++n;
        }
        EXPECT_EQ(n, 5);
    }
    token_bucket b(10, 5, test_hz);  // full and refilled: still 5
    b.refill(0);
    b.refill(60'000);
    int n = 0;
    while (b.has_token() && n < 100) {
        b.take();
        ++n;
    }
    EXPECT_EQ(n, 5);
}

TEST(rate_limit, token_bucket_clock_going_back_adds_nothing) {
    token_bucket b(10, 1, test_hz);
    b.refill(1000);
    b.take();
    b.refill(500);
    EXPECT_FALSE(b.has_token());
    b.refill(1099);
    EXPECT_FALSE(b.has_token()) << "time is measured from 1000, not 500";
    b.refill(1100);
    EXPECT_TRUE(b.has_token());
}

TEST(rate_limit, token_bucket_tsc_hz_no_overflow) {
    const uint64_t hz = 3'000'000'000;
    token_bucket b(10'000'000, 1'000'000, hz);
    b.refill(0);
    uint64_t n = 0;
    while (b.has_token()) {
        b.take();
        ++n;
    }
    EXPECT_EQ(n, 1'000'000u);
    b.refill(hz * 86400);  // a day later
    n = 0;
    while (b.has_token()) {
        b.take();
        ++n;
    }
    EXPECT_EQ(n, 1'000'000u);
    b.refill(hz * 86400 + hz / 10'000'000);  // 1 / rate seconds
    EXPECT_TRUE(b.has_token());
}

TEST(rate_limit, token_bucket_rate_zero_never_gives_a_token) {
    token_bucket b(0, 5, test_hz);
    b.refill(0);
    EXPECT_FALSE(b.has_token()) << "rate 0 = never a token (not even the burst)";
    b.refill(1'000'000);
    EXPECT_FALSE(b.has_token());
}

TEST(rate_limit, default_token_bucket_and_limiter_never_allow) {
    token_bucket b;
    b.refill(0);
    b.refill(1'000'000);
    EXPECT_FALSE(b.has_token());
    error_limiter l;
    EXPECT_FALSE(l.allow(1, 0));
    EXPECT_FALSE(l.allow(1, 1'000'000));
}

TEST(rate_limit, error_limiter_per_source_buckets_are_independent) {
    error_limiter l({.rate = 1000, .burst = 100, .rate_per_source = 10, .burst_per_source = 3},
                    test_hz);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(l.allow(7, 0)) << i;
    }
    EXPECT_FALSE(l.allow(7, 0));
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(l.allow(8, 0)) << i;
    }
    EXPECT_FALSE(l.allow(8, 0));
    EXPECT_FALSE(l.allow(7, 99)) << "0.99 token";
    EXPECT_TRUE(l.allow(7, 100));
    EXPECT_FALSE(l.allow(7, 100));
    EXPECT_FALSE(l.allow(7 + error_limiter::source_buckets, 100))
        << "hashes equal modulo 256 share a bucket";
    EXPECT_TRUE(l.allow(8, 100));
}

TEST(rate_limit, error_limiter_global_bucket_limits_all_sources) {
    error_limiter l({.rate = 10, .burst = 4, .rate_per_source = 1000, .burst_per_source = 100},
                    test_hz);
    int allowed = 0;
    for (uint32_t src = 0; src < 20; ++src) {
        allowed += l.allow(src, 0) ? 1 : 0;
    }
    EXPECT_EQ(allowed, 4);
    EXPECT_FALSE(l.allow(100, 99));
    EXPECT_TRUE(l.allow(100, 100)) << "one token per 100 ms, to any source";
    EXPECT_FALSE(l.allow(101, 100));
}

TEST(rate_limit, error_limiter_refusal_takes_no_token) {
    error_limiter l({.rate = 10, .burst = 5, .rate_per_source = 1, .burst_per_source = 3}, test_hz);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(l.allow(1, 0));
    }
    for (int i = 0; i < 10; ++i) {
        ASSERT_FALSE(l.allow(1, 0)) << "per-source bucket empty";
    }
    // The refusals above took nothing from the global bucket: 2 left.
    EXPECT_TRUE(l.allow(2, 0));
    EXPECT_TRUE(l.allow(2, 0));
    EXPECT_FALSE(l.allow(2, 0)) << "global bucket empty";
    // ... and that refusal took nothing from source 2's bucket (1 token left
    // there): once the global bucket has a token, source 2 gets it.
    EXPECT_TRUE(l.allow(2, 100));
    EXPECT_FALSE(l.allow(2, 200)) << "source 2's bucket now empty (rate 1/s)";
}

TEST(rate_limit, error_limiter_rate_zero_never_allows) {
    error_limiter global0({.rate = 0, .burst = 100, .rate_per_source = 100, .burst_per_source = 20},
                          test_hz);
    EXPECT_FALSE(global0.allow(1, 0)) << "error_rate = 0: never send errors";
    EXPECT_FALSE(global0.allow(1, 1'000'000));
    error_limiter source0(
        {.rate = 1000, .burst = 100, .rate_per_source = 0, .burst_per_source = 20}, test_hz);
    EXPECT_FALSE(source0.allow(1, 0)) << "error_rate_per_source = 0: never send errors";
    EXPECT_FALSE(source0.allow(1, 1'000'000));
}

class responder_rate_limit : public responder_base {};

bytes ttl_expired_from(const ip4_t& src) {
    return frame4(echo4(src, dest4, payload(8), {.ttl = 1}));
}

TEST_F(responder_rate_limit, per_source_bucket_through_the_stage) {
    harness h(true, {.rate = 1000, .burst = 100, .rate_per_source = 1, .burst_per_source = 2});
    const input a = in(ttl_expired_from(far4), punt_kind::ttl_exceeded);
    const input b = in(ttl_expired_from({198, 51, 100, 8}), punt_kind::ttl_exceeded);
    result r = h.run({a, a, a}, 0);
    EXPECT_EQ(r.frames.size(), 2u);
    EXPECT_EQ(r.delta, (counts{{"drops.ttl_exceeded", 3},
                               {"generated", 2},
                               {"events.errors_time_exceeded", 2},
                               {"events.errors_rate_limited", 1}}));
    r = h.run({b}, 10);
    EXPECT_EQ(r.delta, error_sent("ttl_exceeded", "errors_time_exceeded")) << "another source";
    r = h.run({a}, 999);
    EXPECT_EQ(r.delta, error_not_sent("ttl_exceeded", "errors_rate_limited")) << "0.999 token";
    r = h.run({a, a}, 1000);
    EXPECT_EQ(r.delta, (counts{{"drops.ttl_exceeded", 2},
                               {"generated", 1},
                               {"events.errors_time_exceeded", 1},
                               {"events.errors_rate_limited", 1}}));
    r = h.run({a}, 10'000);
    EXPECT_EQ(r.frames.size(), 1u);
}

TEST_F(responder_rate_limit, global_bucket_through_the_stage) {
    harness h(true, {.rate = 1, .burst = 3, .rate_per_source = 100, .burst_per_source = 20});
    std::vector<input> five;
    for (uint8_t i = 0; i < 5; ++i) {
        five.push_back(in(ttl_expired_from({198, 51, 100, static_cast<uint8_t>(7 + i)}),
                          punt_kind::ttl_exceeded));
    }
    result r = h.run(five, 0);
    EXPECT_EQ(r.delta, (counts{{"drops.ttl_exceeded", 5},
                               {"generated", 3},
                               {"events.errors_time_exceeded", 3},
                               {"events.errors_rate_limited", 2}}));
    r = h.run({five[4]}, 999);
    EXPECT_EQ(r.delta, error_not_sent("ttl_exceeded", "errors_rate_limited"));
    r = h.run({five[4], five[3]}, 1000);
    EXPECT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.delta.at("events.errors_rate_limited"), 1u);
}

TEST_F(responder_rate_limit, v6_errors_share_the_limits) {
    harness h(true, {.rate = 1000, .burst = 100, .rate_per_source = 1, .burst_per_source = 1});
    const input a = in(frame6(echo6(far6, dest6, payload(8), 1)), punt_kind::ttl_exceeded);
    const result r = h.run({a, a}, 0);
    EXPECT_EQ(r.delta, (counts{{"drops.ttl_exceeded", 2},
                               {"generated", 1},
                               {"events.errors_time_exceeded", 1},
                               {"events.errors_rate_limited", 1}}));
}

TEST_F(responder_rate_limit, error_rate_zero_sends_no_error) {
    harness h(true, {.rate = 0, .burst = 100, .rate_per_source = 100, .burst_per_source = 20});
    const input a = in(ttl_expired_from(far4), punt_kind::ttl_exceeded);
    const result r = h.run({a, a, a}, 0);
    EXPECT_TRUE(r.frames.empty());
    EXPECT_EQ(r.delta, (counts{{"drops.ttl_exceeded", 3}, {"events.errors_rate_limited", 3}}));
}

TEST_F(responder_rate_limit, replies_are_not_rate_limited) {
    harness h(true, {.rate = 1000, .burst = 100, .rate_per_source = 1, .burst_per_source = 1});
    const result first =
        h.run({in(frame4(echo4(peer4, dest4, payload(8), {.ttl = 1})), punt_kind::ttl_exceeded)});
    EXPECT_EQ(first.frames.size(), 1u);
    std::vector<input> pings(8, in(frame4(echo4(peer4, our4, payload(8))), punt_kind::local));
    pings.push_back(in(arp_frame(1, peer_mac, peer4, our4), punt_kind::arp));
    const result r = h.run(pings, 0);
    EXPECT_EQ(r.frames.size(), 9u);
    EXPECT_EQ(r.delta, (counts{{"consumed", 9},
                               {"generated", 9},
                               {"events.echo_replies", 8},
                               {"events.arp_replies", 1}}));
}

// ---- builders used by the control thread ------------------------------------------------

class build_packets : public responder_base {
  protected:
    static rte_mbuf* alloc() { return rte_pktmbuf_alloc(shared().pool); }
};

TEST_F(build_packets, arp_request_broadcast_and_unicast) {
    const rte_ether_addr mac = to_ether(our_mac);
    const rte_ether_addr dst = to_ether(peer_mac);
    rte_mbuf* m = alloc();
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(arp_request_build(m, mac, be32_of(our4), be32_of(peer4), nullptr));
    bool ok = false;
    EXPECT_EQ(frame_of(m, ok), padded(corpus::cat(ether(broadcast_mac, our_mac, 0x0806),
                                                  arp_body(1, our_mac, our4, zero_mac, peer4))));
    rte_pktmbuf_reset(m);
    ASSERT_TRUE(arp_request_build(m, mac, be32_of(our4), be32_of(peer4), &dst));
    EXPECT_EQ(frame_of(m, ok), padded(corpus::cat(ether(peer_mac, our_mac, 0x0806),
                                                  arp_body(1, our_mac, our4, zero_mac, peer4))));
    rte_pktmbuf_reset(m);
    ASSERT_TRUE(arp_request_build(m, mac, be32_of(our4), be32_of(our4), nullptr)) << "gratuitous";
    EXPECT_EQ(frame_of(m, ok), padded(corpus::cat(ether(broadcast_mac, our_mac, 0x0806),
                                                  arp_body(1, our_mac, our4, zero_mac, our4))));
    rte_pktmbuf_reset(m);
    m->data_off = static_cast<uint16_t>(m->buf_len - 59);
    EXPECT_FALSE(arp_request_build(m, mac, be32_of(our4), be32_of(peer4), nullptr))
        << "no room for 60 bytes";
    rte_pktmbuf_free(m);
}

TEST_F(build_packets, neighbor_solicitation_multicast_and_unicast) {
    const rte_ether_addr mac = to_ether(our_mac);
    const rte_ether_addr dst = to_ether(peer_mac);
    bytes body;
    append(body, peer6);
    append(body, lla_option(1, our_mac));
    rte_mbuf* m = alloc();
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(ndp_solicitation_build(m, mac, our6.data(), peer6.data(), nullptr));
    bool ok = false;
    EXPECT_EQ(
        frame_of(m, ok),
        corpus::cat(ether({0x33, 0x33, 0xff, 0x00, 0x00, 0x10}, our_mac, 0x86dd),
                    ip6(our6, peer_sn6, p_icmp6, icmp6(our6, peer_sn6, 135, 0, 0, body), 255)));
    rte_pktmbuf_reset(m);
    ASSERT_TRUE(ndp_solicitation_build(m, mac, our6.data(), peer6.data(), &dst));
    EXPECT_EQ(frame_of(m, ok),
              corpus::cat(ether(peer_mac, our_mac, 0x86dd),
                          ip6(our6, peer6, p_icmp6, icmp6(our6, peer6, 135, 0, 0, body), 255)));
    rte_pktmbuf_free(m);
}

TEST_F(build_packets, truncate_packet_frees_the_cut_segments) {
    input i;
    i.frame = payload(300);
    i.segments = {100, 100, 100};
    rte_mbuf* m = make_mbuf(i);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->nb_segs, 3);
    truncate_packet(m, 150);
    EXPECT_EQ(m->nb_segs, 2);
    EXPECT_EQ(m->pkt_len, 150u);
    EXPECT_EQ(rte_mempool_avail_count(shared().pool), pool_size - 2);
    bool ok = false;
    EXPECT_EQ(frame_of(m, ok), slice(i.frame, 0, 150));
    EXPECT_TRUE(ok);
    truncate_packet(m, 100);
    EXPECT_EQ(m->nb_segs, 1);
    EXPECT_EQ(rte_mempool_avail_count(shared().pool), pool_size - 1);
    truncate_packet(m, 200);  // longer: unchanged
    EXPECT_EQ(m->pkt_len, 100u);
    rte_pktmbuf_free(m);
}

// ---- 4: every generated frame through an independent decoder -------------------------

struct named_frame {
    std::string name;
    bytes frame;
};

// Every kind of frame the stage (and the control thread's builders) generate.
std::vector<named_frame> generate_all() {
    std::vector<named_frame> out;
    using pk = punt_kind;
    auto add = [&](const std::string& name, bool router, const input& i) {
        harness h(router);
        const result r = h.run({i});
        if (r.frames.size() != 1 || !r.generated[0]) {
            ADD_FAILURE() << name << ": no frame generated";
            return;
        }
        out.push_back({name, r.frames[0]});
    };
    add("echo_reply_v4", false, in(frame4(echo4(peer4, our4, payload(56)))));
    add("echo_reply_v4_odd_payload", false, in(frame4(echo4(peer4, our4, payload(57)))));
    add("echo_reply_v4_1472", false, in(frame4(echo4(peer4, our4, payload(1472)))));
    input chained4 = in(frame4(echo4(peer4, our4, payload(1472, 9))));
    chained4.segments = {100, 334, 8};
    add("echo_reply_v4_1472_chained", false, chained4);
    add("echo_reply_v6", false, in(frame6(echo6(peer6, our6, payload(56)))));
    add("echo_reply_v6_odd_payload", false, in(frame6(echo6(peer6, our6, payload(57)))));
    add("echo_reply_v6_1472", false, in(frame6(echo6(peer6, our6, payload(1472)))));
    add("arp_reply", false, in(arp_frame(1, peer_mac, peer4, our4)));
    add("neighbor_advertisement", false,
        in(frame6(ns6(peer6, our_sn6, our6, lla_option(1, peer_mac)), our_sn_mac)));
    add("neighbor_advertisement_dad", false, in(frame6(ns6(zero6, our_sn6, our6, {}), our_sn_mac)));
    add("neighbor_advertisement_router", true, in(frame6(ns6(peer6, our6, our6, {})), pk::local));
    add("port_unreachable_v4", false,
        in(frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 161, payload(20))))));
    add("port_unreachable_v4_1500", false,
        in(frame4(ip4(peer4, our4, p_udp, udp4(peer4, our4, 9, 161, payload(1472))))));
    add("time_exceeded_v4", true,
        in(frame4(echo4(far4, dest4, payload(32), {.ttl = 1})), pk::ttl_exceeded));
    add("time_exceeded_v4_options", true,
        in(frame4(echo4(far4, dest4, payload(31), {.ttl = 1, .options = bytes{0x94, 4, 0, 0}})),
           pk::ttl_exceeded));
    input chained_err = in(frame4(echo4(far4, dest4, payload(1472), {.ttl = 1})), pk::ttl_exceeded);
    chained_err.segments = {98, 78};
    add("time_exceeded_v4_1500_chained", true, chained_err);
    chained_err.segments = {99, 77};
    add("time_exceeded_v4_1500_chained_odd", true, chained_err);
    add("net_unreachable_v4", true,
        in(frame4(ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(1000)))), pk::no_route));
    add("frag_needed_v4", true,
        in(frame4(
               ip4(far4, dest4, p_udp, udp4(far4, dest4, 1, 2, payload(1472)), {.frag = 0x4000})),
           pk::too_big, 1400));
    add("port_unreachable_v6", false,
        in(frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 9, 161, payload(21))))));
    add("port_unreachable_v6_1500", false,
        in(frame6(ip6(peer6, our6, p_udp, udp6(peer6, our6, 9, 161, payload(1452))))));
    add("time_exceeded_v6", true, in(frame6(echo6(far6, dest6, payload(32), 1)), pk::ttl_exceeded));
    input chained6 = in(frame6(echo6(far6, dest6, payload(1452), 1)), pk::ttl_exceeded);
    chained6.segments = {74, 1000};
    add("time_exceeded_v6_1500_chained", true, chained6);
    chained6.segments = {75, 1001};
    add("time_exceeded_v6_1500_chained_odd", true, chained6);
    add("no_route_v6", true,
        in(frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(100)))), pk::no_route));
    add("packet_too_big_v6", true,
        in(frame6(ip6(far6, dest6, p_udp, udp6(far6, dest6, 1, 2, payload(1452)))), pk::too_big,
           1280));
    add("packet_too_big_v6_about_multicast", true,
        in(frame6(ip6(far6, global_group6, p_udp, udp6(far6, global_group6, 1, 2, payload(1452))),
                  {0x33, 0x33, 0, 0, 0, 1}),
           pk::too_big, 1280));
    // The control thread's requests.
    rte_mbuf* m = rte_pktmbuf_alloc(shared().pool);
    if (m == nullptr) {
        ADD_FAILURE() << "pool empty";
        return out;
    }
    bool ok = false;
    if (arp_request_build(m, to_ether(our_mac), be32_of(our4), be32_of(peer4), nullptr)) {
        out.push_back({"arp_request", frame_of(m, ok)});
    }
    rte_pktmbuf_reset(m);
    if (ndp_solicitation_build(m, to_ether(our_mac), our6.data(), peer6.data(), nullptr)) {
        out.push_back({"neighbor_solicitation", frame_of(m, ok)});
    }
    rte_pktmbuf_free(m);
    return out;
}

// A pcap file (microsecond timestamps, Ethernet), written by hand.
void write_pcap(const std::string& path, const std::vector<named_frame>& frames) {
    std::ofstream f(path, std::ios::binary);
    auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    u32(0xa1b2c3d4);
    u16(2);
    u16(4);
    u32(0);      // thiszone
    u32(0);      // sigfigs
    u32(65535);  // snaplen
    u32(1);      // LINKTYPE_ETHERNET
    uint32_t t = 0;
    for (const auto& nf : frames) {
        u32(1'700'000'000);
        u32(t++);
        u32(static_cast<uint32_t>(nf.frame.size()));
        u32(static_cast<uint32_t>(nf.frame.size()));
        f.write(reinterpret_cast<const char*>(nf.frame.data()),
                static_cast<std::streamsize>(nf.frame.size()));
    }
}

// Runs a shell command; its stdout+stderr and exit status.
std::string run_command(const std::string& cmd, int& status) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) {
        status = -1;
        return out;
    }
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    const int rc = ::pclose(p);
    status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            v.push_back(line);
        }
    }
    return v;
}

class responder_checksums : public responder_base {
  protected:
    void SetUp() override {
        responder_base::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        char tmpl[] = "/tmp/responder_pcap_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        frames_ = generate_all();
        ASSERT_EQ(frames_.size(), 29u);
        pcap_ = dir_ + "/generated.pcap";
        write_pcap(pcap_, frames_);
    }
    void TearDown() override {
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
        responder_base::TearDown();
    }
    std::string dir_;
    std::string pcap_;
    std::vector<named_frame> frames_;
};

// For every frame: the IPv4 header checksum, the ICMP / ICMPv6 checksum
// (pseudo-header included) summed by scapy, and scapy's own rebuild of the
// checksums giving back the same bytes; lengths consistent with the frame.
constexpr const char* scapy_script = R"PY(
import sys
try:
    from scapy.utils import rdpcap, checksum
    from scapy.compat import raw
    from scapy.layers.l2 import Ether, ARP
    from scapy.layers.inet import IP, ICMP
    from scapy.layers.inet6 import IPv6, in6_chksum
except Exception as e:
    print("NO_SCAPY", e)
    sys.exit(0)
for i, p in enumerate(rdpcap(sys.argv[1])):
    wire = raw(p)
    e = Ether(wire)
    bad = []
    what = "?"
    if IP in e:
        ip = e[IP]
        b = raw(ip)
        hl = ip.ihl * 4
        if ip.len > len(b): bad.append("ip length past the frame")
        if checksum(b[:hl]) != 0: bad.append("ip header checksum")
        if ip.proto == 1:
            if checksum(b[hl:ip.len]) != 0: bad.append("icmp checksum")
            q = Ether(wire)
            del q[IP].chksum
            del q[ICMP].chksum
            if raw(q)[:14 + ip.len] != wire[:14 + ip.len]: bad.append("rebuilt checksums differ")
            what = "ipv4 icmp %d/%d" % (ip[ICMP].type, ip[ICMP].code)
        else:
            bad.append("not icmp")
    elif IPv6 in e:
        ip6 = e[IPv6]
        body = raw(ip6.payload)[:ip6.plen]
        if len(body) != ip6.plen: bad.append("ipv6 payload length past the frame")
        if ip6.nh != 58: bad.append("not icmpv6")
        if in6_chksum(58, ip6, body) != 0: bad.append("icmpv6 checksum")
        q = Ether(wire)
        del q[IPv6].payload.cksum
        if raw(q)[:54 + ip6.plen] != wire[:54 + ip6.plen]: bad.append("rebuilt checksum differs")
        what = "ipv6 icmpv6 %d/%d" % (body[0], body[1])
    elif ARP in e:
        a = e[ARP]
        if (a.hwtype, a.ptype, a.hwlen, a.plen) != (1, 0x800, 6, 4): bad.append("arp header")
        what = "arp op %d" % a.op
    else:
        bad.append("unknown frame")
    print(i, "BAD " + ",".join(bad) if bad else "OK", what)
)PY";

TEST_F(responder_checksums, scapy_verifies_every_generated_frame) {
    if (::access("/usr/bin/python3", X_OK) != 0) {
        GTEST_SKIP() << "/usr/bin/python3 not installed";
    }
    const std::string script = dir_ + "/check.py";
    std::ofstream(script) << scapy_script;
    int status = 0;
    const std::string out = run_command("/usr/bin/python3 " + script + " " + pcap_, status);
    if (out.rfind("NO_SCAPY", 0) == 0) {
        GTEST_SKIP() << "scapy not importable: " << out;
    }
    ASSERT_EQ(status, 0) << out;
    const auto lines = lines_of(out);
    ASSERT_EQ(lines.size(), frames_.size()) << out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::istringstream l(lines[i]);
        std::size_t idx = 0;
        std::string verdict;
        l >> idx >> verdict;
        EXPECT_EQ(idx, i);
        EXPECT_EQ(verdict, "OK") << frames_[i].name << ": " << lines[i];
    }
}

TEST_F(responder_checksums, tshark_verifies_every_generated_frame) {
    if (::access("/usr/bin/tshark", X_OK) != 0) {
        GTEST_SKIP() << "/usr/bin/tshark not installed";
    }
    int status = 0;
    // Checksum status: 0 bad, 1 good, 2 unverified.
    const std::string out = run_command(
        "{ /usr/bin/tshark -n -r " + pcap_ +
            " -o ip.check_checksum:TRUE -T fields -E separator='|' -E occurrence=a"
            " -e frame.number -e ip.checksum.status -e icmp.checksum.status"
            " -e icmpv6.checksum.status -e arp.opcode -e _ws.malformed -e _ws.expert.severity"
            " 2>/dev/null; }",  // tshark's notes on stderr: not fields
        status);
    ASSERT_EQ(status, 0) << out;
    const auto lines = lines_of(out);
    ASSERT_EQ(lines.size(), frames_.size()) << out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::vector<std::string> f;
        std::string field;
        std::istringstream l(lines[i] + "|");
        while (std::getline(l, field, '|')) {
            f.push_back(field);
        }
        ASSERT_GE(f.size(), 7u) << lines[i];
        const bytes& fr = frames_[i].frame;
        const uint16_t type = get16(fr, 12);
        SCOPED_TRACE(frames_[i].name + ": " + lines[i]);
        EXPECT_EQ(f[0], std::to_string(i + 1));
        // The first occurrence is the frame's own header; more are the quote's.
        auto first = [](const std::string& v) { return v.substr(0, v.find(',')); };
        if (type == 0x0800) {
            EXPECT_EQ(first(f[1]), "1") << "IPv4 header checksum good";
            EXPECT_EQ(first(f[2]), "1") << "ICMP checksum good";
        } else if (type == 0x86dd) {
            EXPECT_EQ(first(f[3]), "1") << "ICMPv6 checksum good";
        } else {
            EXPECT_EQ(type, 0x0806);
            EXPECT_FALSE(f[4].empty());
        }
        // No checksum anywhere, the quoted packet's included, is bad.
        for (int k = 1; k <= 3; ++k) {
            std::istringstream all(f[k]);
            std::string one;
            while (std::getline(all, one, ',')) {
                EXPECT_NE(one, "0") << "a bad checksum in field " << k;
            }
        }
        EXPECT_EQ(f[5], "") << "malformed";
        std::istringstream sev(f[6]);
        std::string one;
        while (std::getline(sev, one, ',')) {
            EXPECT_LT(std::stoul(one), 0x00800000ul) << "expert error";
        }
    }
}

}  // namespace
}  // namespace dpdk_app
