// parse_packet and the parse stage on real mbufs (EAL in-process, a pool with
// the packet_meta private area): the malformed-packet corpus, the metadata
// of well-formed frames, PMD checksum flags and chained (multi-segment)
// mbufs with headers straddling segment boundaries.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "corpus.hpp"
#include "eal_env.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "parse/parse_stage.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

namespace corpus {
// gtest prints a case by its name.
void PrintTo(const corpus_case& c, std::ostream* os) {
    *os << c.name;
}
}  // namespace corpus

namespace {

using namespace corpus;

constexpr unsigned parse_pool_size = 1023;
constexpr uint16_t test_port_id = 3;

std::string outcome(std::optional<drop_reason> why) {
    return why ? std::string(name_of(*why)) : std::string("accepted");
}

// Every field, for comparisons with a readable difference.
std::string describe(const packet_meta& m) {
    std::ostringstream s;
    s << "in_port=" << m.in_port << " l2_len=" << m.l2_len << " l3_len=" << m.l3_len
      << " l3_total=" << m.l3_total << " flags=" << m.flags << " ethertype=" << m.ethertype
      << " vlan=" << m.vlan_outer << "/" << m.vlan_inner << "x" << unsigned{m.vlan_count}
      << " l3=" << static_cast<unsigned>(m.l3) << " l4_proto=" << unsigned{m.l4_proto}
      << " ttl=" << unsigned{m.ttl} << " tcp_flags=" << unsigned{m.tcp_flags}
      << " icmp=" << unsigned{m.icmp_type} << "/" << unsigned{m.icmp_code}
      << " ports=" << m.src_port << "/" << m.dst_port << " src=";
    for (uint8_t b : m.src_addr) {
        s << std::hex << unsigned{b} << std::dec << ".";
    }
    s << " dst=";
    for (uint8_t b : m.dst_addr) {
        s << std::hex << unsigned{b} << std::dec << ".";
    }
    return s.str();
}

struct parsed {
    std::optional<drop_reason> why;
    packet_meta meta;
    uint16_t segments = 0;
};

class parse_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!unit::dpdk_environment::error().empty()) {
            return;
        }
        pool_ =
            rte_pktmbuf_pool_create("parse_pool", parse_pool_size, 0, packet_meta_priv_size,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
    }

    static void TearDownTestSuite() {
        rte_mempool_free(pool_);
        pool_ = nullptr;
    }

    void SetUp() override {
        ASSERT_EQ(unit::dpdk_environment::error(), "");
        ASSERT_NE(pool_, nullptr);
        ASSERT_EQ(rte_mempool_avail_count(pool_), parse_pool_size);
    }

    void TearDown() override {
        if (pool_ != nullptr) {
            EXPECT_EQ(rte_mempool_avail_count(pool_), parse_pool_size) << "mbufs leaked";
        }
    }

    // An mbuf holding f (see unit::make_mbuf), arrived on test_port_id.
    static rte_mbuf* make_mbuf(const bytes& f, const std::vector<std::size_t>& segments = {}) {
        return unit::make_mbuf(pool_, f, test_port_id, segments);
    }

    // Parses f in a fresh mbuf whose metadata area was filled with garbage.
    static parsed parse(const bytes& f, const std::vector<std::size_t>& segments = {},
                        uint64_t ol_flags = 0) {
        parsed r{};
        rte_mbuf* m = make_mbuf(f, segments);
        if (m == nullptr) {
            return r;
        }
        m->ol_flags |= ol_flags;
        packet_meta* pm = meta_of(m);
        std::memset(static_cast<void*>(pm), 0xa5, sizeof *pm);
        if (const auto defect = parse_packet(m, *pm)) {
            r.why = drop_reason_of(*defect);
        }
        r.meta = *pm;
        r.segments = m->nb_segs;
        rte_pktmbuf_free(m);
        return r;
    }

    static inline rte_mempool* pool_ = nullptr;
};

// ---- The corpus: every frame, the exact outcome --------------------------------------------

class parse_corpus : public parse_test, public ::testing::WithParamInterface<corpus_case> {};

TEST_P(parse_corpus, gives_the_expected_outcome) {
    const corpus_case& c = GetParam();
    const parsed r = parse(c.frame);
    EXPECT_EQ(outcome(r.why), outcome(c.expect)) << c.name;
    EXPECT_EQ(r.meta.in_port, test_port_id);
}

// The same frame split in two segments at every offset of its first 128
// bytes: the outcome and, when accepted, the metadata do not change.
TEST_P(parse_corpus, same_outcome_split_at_every_offset) {
    const corpus_case& c = GetParam();
    const parsed whole = parse(c.frame);
    const std::size_t last = std::min<std::size_t>(c.frame.size() - 1, 128);
    for (std::size_t split = 1; split <= last; ++split) {
        const parsed r = parse(c.frame, {split});
        ASSERT_EQ(r.segments, 2) << "split at " << split;
        ASSERT_EQ(outcome(r.why), outcome(whole.why)) << c.name << " split at " << split;
        if (!r.why) {
            ASSERT_EQ(describe(r.meta), describe(whole.meta)) << c.name << " split at " << split;
        }
    }
}

// One byte per segment for the first 100 bytes: every header straddles.
TEST_P(parse_corpus, same_outcome_one_byte_per_segment) {
    const corpus_case& c = GetParam();
    const parsed whole = parse(c.frame);
    const parsed r = parse(c.frame, std::vector<std::size_t>(100, 1));
    EXPECT_EQ(r.segments,
              std::min<std::size_t>(c.frame.size(), 100) + (c.frame.size() > 100 ? 1 : 0));
    EXPECT_EQ(outcome(r.why), outcome(whole.why)) << c.name;
    if (!r.why) {
        EXPECT_EQ(describe(r.meta), describe(whole.meta)) << c.name;
    }
}

// parse_packet's fast path (untagged IPv4) and parse_packet_generic agree
// on the verdict and on every metadata byte: each corpus frame under each
// PMD checksum flag, then thousands of random mutations of it (the IPv4
// header checksum fixed after the mutation half of the time, so that the
// fast path sees valid-looking headers with odd fields).
TEST_P(parse_corpus, fast_path_matches_the_generic_parser) {
    const corpus_case& c = GetParam();
    auto compare = [&](const bytes& f, uint64_t ol_flags, const std::string& what) {
        rte_mbuf* m = make_mbuf(f);
        ASSERT_NE(m, nullptr);
        m->ol_flags |= ol_flags;
        packet_meta fast;
        packet_meta generic;
        std::memset(static_cast<void*>(&fast), 0xa5, sizeof fast);
        std::memset(static_cast<void*>(&generic), 0x5a, sizeof generic);
        const auto why_fast = parse_packet(m, fast);
        const auto why_generic = parse_packet_generic(m, generic);
        rte_pktmbuf_free(m);
        ASSERT_EQ(why_fast, why_generic) << what;
        if (!why_fast) {
            ASSERT_EQ(describe(fast), describe(generic)) << what;
            ASSERT_EQ(std::memcmp(&fast, &generic, sizeof fast), 0) << what;
        }
    };
    for (uint64_t flags : {uint64_t{0}, uint64_t{RTE_MBUF_F_RX_IP_CKSUM_GOOD},
                           uint64_t{RTE_MBUF_F_RX_IP_CKSUM_BAD},
                           uint64_t{RTE_MBUF_F_RX_IP_CKSUM_NONE}}) {
        compare(c.frame, flags, c.name + " flags " + std::to_string(flags));
    }
    std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(c.name)));
    for (int round = 0; round < 2000; ++round) {
        bytes f = c.frame;
        const std::size_t span = std::min<std::size_t>(f.size(), 74);
        for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
            f[rng() % span] = static_cast<uint8_t>(rng());
        }
        if (round % 2 == 0 && f.size() >= 34 && f[12] == 0x08 && f[13] == 0x00 &&
            (f[14] & 0x0f) >= 5 && f.size() >= 14u + (f[14] & 0x0fu) * 4) {
            auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + 14);
            ip->hdr_checksum = 0;
            ip->hdr_checksum = rte_ipv4_cksum(ip);
        }
        compare(f, 0, c.name + " mutation " + std::to_string(round));
    }
}

INSTANTIATE_TEST_SUITE_P(corpus, parse_corpus, ::testing::ValuesIn(malformed_corpus()),
                         [](const ::testing::TestParamInfo<corpus_case>& info) {
                             return info.param.name;
                         });

TEST(parse_corpus_shape, has_at_least_30_cases_with_unique_names_and_every_parse_reason) {
    const auto cases = malformed_corpus();
    EXPECT_GE(cases.size(), 30u);
    std::vector<std::string> names;
    std::vector<bool> seen(drop_reason_count, false);
    for (const auto& c : cases) {
        names.push_back(c.name);
        if (c.expect) {
            seen[static_cast<std::size_t>(*c.expect)] = true;
        }
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
    for (std::size_t r = static_cast<std::size_t>(drop_reason::eth_truncated);
         r <= static_cast<std::size_t>(drop_reason::icmp_truncated); ++r) {
        EXPECT_TRUE(seen[r]) << "no corpus case for " << drop_reason_names[r];
    }
}

// ---- Metadata of well-formed frames ---------------------------------------------------------

TEST_F(parse_test, ipv4_udp_fills_every_field) {
    ipv4_header h;
    h.ttl = 17;
    h.frag = 0x4000;  // DF
    const bytes f = cat(ethernet(ether_ipv4), ipv4(h, udp(1000, 53, 18)));
    const parsed r = parse(f);
    ASSERT_EQ(outcome(r.why), "accepted");
    const packet_meta& m = r.meta;
    EXPECT_EQ(m.in_port, test_port_id);
    EXPECT_EQ(m.l2_len, 14);
    EXPECT_EQ(m.l3_len, 20);
    EXPECT_EQ(m.l3_total, 46);
    EXPECT_EQ(m.flags, meta_l4_valid | meta_ipv4_df);
    EXPECT_EQ(m.ethertype, 0x0800);
    EXPECT_EQ(m.vlan_count, 0);
    EXPECT_EQ(m.vlan_outer, 0);
    EXPECT_EQ(m.vlan_inner, 0);
    EXPECT_EQ(m.l3, l3_kind::ipv4);
    EXPECT_EQ(m.l4_proto, proto_udp);
    EXPECT_EQ(m.ttl, 17);
    EXPECT_EQ(m.src_port, 1000);
    EXPECT_EQ(m.dst_port, 53);
    EXPECT_EQ(m.tcp_flags, 0);
    EXPECT_EQ(m.icmp_type, 0);
    const uint8_t src[16] = {192, 0, 2, 1};
    const uint8_t dst[16] = {198, 51, 100, 2};
    EXPECT_EQ(std::memcmp(m.src_addr, src, 16), 0);
    EXPECT_EQ(std::memcmp(m.dst_addr, dst, 16), 0);
    EXPECT_EQ(meta_src_ipv4(m), rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 1)));
    EXPECT_EQ(meta_dst_ipv4(m), rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, 2)));
}

TEST_F(parse_test, padded_60_byte_frame_excludes_the_padding) {
    const bytes f = pad_to(cat(ethernet(ether_ipv4), ipv4({}, udp(1, 2))), 60);
    ASSERT_EQ(f.size(), 60u);
    const parsed r = parse(f);
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3_total, 28);
    EXPECT_TRUE(r.meta.flags & meta_l4_valid);
}

TEST_F(parse_test, ttl_0_and_1_are_accepted_and_recorded) {
    for (uint8_t ttl : {0, 1}) {
        ipv4_header h;
        h.ttl = ttl;
        const parsed r = parse(pad_to(cat(ethernet(ether_ipv4), ipv4(h, udp(1, 2))), 60));
        ASSERT_EQ(outcome(r.why), "accepted");
        EXPECT_EQ(r.meta.ttl, ttl);
    }
    ipv6_header h6;
    h6.hop_limit = 1;
    const parsed r = parse(cat(ethernet(ether_ipv6), ipv6(h6, udp(1, 2))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.ttl, 1);
}

TEST_F(parse_test, ipv4_options_set_the_flag_and_move_l4) {
    ipv4_header h;
    h.options = {1, 1, 1, 1, 0x94, 0x04, 0, 0};
    const parsed r = parse(cat(ethernet(ether_ipv4), ipv4(h, udp(4321, 1234, 5))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3_len, 28);
    EXPECT_EQ(r.meta.flags, meta_ip_options | meta_l4_valid);
    EXPECT_EQ(r.meta.src_port, 4321);
    EXPECT_EQ(r.meta.dst_port, 1234);
}

TEST_F(parse_test, ipv4_nonfirst_fragment_has_no_ports) {
    ipv4_header h;
    h.frag = 0x2000 | 185;  // MF and an offset: a middle fragment
    const parsed r = parse(cat(ethernet(ether_ipv4), ipv4(h, udp(1, 2, 100))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.flags, meta_fragment | meta_nonfirst_fragment);
    EXPECT_EQ(r.meta.l4_proto, proto_udp);
    EXPECT_EQ(r.meta.src_port, 0);
    EXPECT_EQ(r.meta.dst_port, 0);
}

TEST_F(parse_test, ipv4_first_fragment_reads_ports) {
    ipv4_header h = {};
    h.proto = proto_tcp;
    h.frag = 0x2000;
    const parsed r = parse(cat(ethernet(ether_ipv4), ipv4(h, tcp(80, 8080, 0x10, 5, 100))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.flags, meta_fragment | meta_l4_valid);
    EXPECT_EQ(r.meta.src_port, 80);
    EXPECT_EQ(r.meta.dst_port, 8080);
    EXPECT_EQ(r.meta.tcp_flags, 0x10);
}

TEST_F(parse_test, ipv4_fragment_offset_1_is_tiny_only_for_tcp) {
    ipv4_header h;
    h.frag = 1;
    h.proto = proto_udp;
    const parsed udp_r = parse(cat(ethernet(ether_ipv4), ipv4(h, filler(40, 1))));
    EXPECT_EQ(outcome(udp_r.why), "accepted");
    EXPECT_EQ(udp_r.meta.flags, meta_fragment | meta_nonfirst_fragment);
    h.proto = proto_tcp;
    const parsed tcp_r = parse(cat(ethernet(ether_ipv4), ipv4(h, filler(40, 1))));
    EXPECT_EQ(outcome(tcp_r.why), "ipv4_tiny_fragment");
}

TEST_F(parse_test, pmd_checksum_flags_are_honoured) {
    ipv4_header bad;
    bad.bad_checksum = true;
    const bytes bad_frame = cat(ethernet(ether_ipv4), ipv4(bad, udp(1, 2, 30)));
    const bytes good_frame = cat(ethernet(ether_ipv4), ipv4({}, udp(1, 2, 30)));
    // The PMD checked: its verdict wins over the bytes.
    EXPECT_EQ(outcome(parse(bad_frame, {}, RTE_MBUF_F_RX_IP_CKSUM_GOOD).why), "accepted");
    EXPECT_EQ(outcome(parse(good_frame, {}, RTE_MBUF_F_RX_IP_CKSUM_BAD).why), "ipv4_bad_checksum");
    EXPECT_EQ(outcome(parse(bad_frame, {}, RTE_MBUF_F_RX_IP_CKSUM_NONE).why), "accepted");
    // No verdict: checked in software.
    EXPECT_EQ(outcome(parse(bad_frame, {}, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN).why),
              "ipv4_bad_checksum");
    EXPECT_EQ(outcome(parse(good_frame, {}, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN).why), "accepted");
    // Other flags (here L4 checksum bad) do not matter to parse.
    EXPECT_EQ(outcome(parse(good_frame, {}, RTE_MBUF_F_RX_L4_CKSUM_BAD).why), "accepted");
}

TEST_F(parse_test, ipv4_checksum_with_options_covers_the_options) {
    ipv4_header h;
    h.options = {0x94, 0x04, 0, 0};
    bytes f = cat(ethernet(ether_ipv4), ipv4(h, udp(1, 2)));
    EXPECT_EQ(outcome(parse(f).why), "accepted");
    f[14 + 22] ^= 0x01;  // an option byte: the checksum no longer matches
    EXPECT_EQ(outcome(parse(f).why), "ipv4_bad_checksum");
}

TEST_F(parse_test, ipv6_plain_fills_every_field) {
    ipv6_header h;
    h.next = proto_tcp;
    h.hop_limit = 200;
    const parsed r = parse(cat(ethernet(ether_ipv6), ipv6(h, tcp(50000, 22, 0x12, 8, 20))));
    ASSERT_EQ(outcome(r.why), "accepted");
    const packet_meta& m = r.meta;
    EXPECT_EQ(m.l2_len, 14);
    EXPECT_EQ(m.l3_len, 40);
    EXPECT_EQ(m.l3_total, 40 + 32 + 20);
    EXPECT_EQ(m.flags, meta_l4_valid);
    EXPECT_EQ(m.ethertype, 0x86dd);
    EXPECT_EQ(m.l3, l3_kind::ipv6);
    EXPECT_EQ(m.l4_proto, proto_tcp);
    EXPECT_EQ(m.ttl, 200);
    EXPECT_EQ(m.src_port, 50000);
    EXPECT_EQ(m.dst_port, 22);
    EXPECT_EQ(m.tcp_flags, 0x12);
    EXPECT_EQ(std::memcmp(m.src_addr, h.src.data(), 16), 0);
    EXPECT_EQ(std::memcmp(m.dst_addr, h.dst.data(), 16), 0);
}

TEST_F(parse_test, ipv6_padding_is_excluded) {
    const parsed r = parse(pad_to(cat(ethernet(ether_ipv6), ipv6({}, udp(1, 2, 2))), 90));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3_total, 50);
}

TEST_F(parse_test, ipv6_extension_chain_of_8_is_walked) {
    ipv6_header h;
    h.next = 0;
    bytes chain = ipv6_ext(43, 1);                // hop-by-hop, 16 bytes
    chain = cat(chain, ipv6_ext(44));             // routing, 8
    chain = cat(chain, ipv6_frag(60, 0, false));  // atomic fragment, 8
    chain = cat(chain, ipv6_ext(51, 2));          // destination options, 24
    chain = cat(chain, ipv6_ah(60, 4));           // AH, 24
    chain = cat(chain, ipv6_ext(60));             // destination options, 8
    chain = cat(chain, ipv6_ext(60));
    chain = cat(chain, ipv6_ext(proto_udp));
    const parsed r = parse(cat(ethernet(ether_ipv6), ipv6(h, cat(chain, udp(7, 9, 3)))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3_len, 40 + 16 + 8 + 8 + 24 + 24 + 8 + 8 + 8);
    EXPECT_EQ(r.meta.flags, meta_ipv6_ext | meta_fragment | meta_l4_valid);
    EXPECT_EQ(r.meta.l4_proto, proto_udp);
    EXPECT_EQ(r.meta.src_port, 7);
    EXPECT_EQ(r.meta.dst_port, 9);
}

TEST_F(parse_test, ipv6_nonfirst_fragment_stops_the_walk) {
    ipv6_header h;
    h.next = 44;
    // After the fragment header comes fragment data: even bytes that look
    // like a hop-by-hop header are not parsed.
    const bytes data = cat(ipv6_ext(0), filler(24, 2));
    const parsed r = parse(cat(ethernet(ether_ipv6), ipv6(h, cat(ipv6_frag(0, 150, true), data))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3_len, 48);
    EXPECT_EQ(r.meta.flags, meta_ipv6_ext | meta_fragment | meta_nonfirst_fragment);
    EXPECT_EQ(r.meta.l4_proto, 0);
    EXPECT_EQ(r.meta.src_port, 0);
}

TEST_F(parse_test, ipv6_first_fragment_reads_ports) {
    ipv6_header h;
    h.next = 44;
    const parsed r = parse(cat(ethernet(ether_ipv6),
                               ipv6(h, cat(ipv6_frag(proto_udp, 0, true), udp(5, 6, 64, 9000)))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.flags, meta_ipv6_ext | meta_fragment | meta_l4_valid);
    EXPECT_EQ(r.meta.src_port, 5);
}

TEST_F(parse_test, ipv6_no_next_header_has_no_l4) {
    ipv6_header h;
    h.next = 59;
    const parsed r = parse(cat(ethernet(ether_ipv6), ipv6(h, filler(20, 1))));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l4_proto, 59);
    EXPECT_EQ(r.meta.flags, 0);
    EXPECT_EQ(r.meta.l3_len, 40);
}

TEST_F(parse_test, vlan_tag_is_recorded) {
    const bytes f =
        pad_to(cat(ethernet(ether_ipv4, {{ether_vlan, 0xe064}}), ipv4({}, udp(1, 2))), 64);
    const parsed r = parse(f);
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.vlan_count, 1);
    EXPECT_EQ(r.meta.vlan_outer, 100);  // PCP 7 is not part of the id
    EXPECT_EQ(r.meta.vlan_inner, 0);
    EXPECT_EQ(r.meta.l2_len, 18);
    EXPECT_EQ(r.meta.ethertype, 0x0800);
    EXPECT_EQ(r.meta.l3, l3_kind::ipv4);
}

TEST_F(parse_test, ipv4_tcp_in_qinq_reads_ports) {
    ipv4_header h;
    h.proto = proto_tcp;
    const bytes f = cat(ethernet(ether_ipv4, {{ether_qinq, 200}, {ether_vlan, 300}}),
                        ipv4(h, tcp(40000, 443, 0x18, 7, 10)));
    const parsed r = parse(f);
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.vlan_count, 2);
    EXPECT_EQ(r.meta.vlan_outer, 200);
    EXPECT_EQ(r.meta.vlan_inner, 300);
    EXPECT_EQ(r.meta.l2_len, 22);
    EXPECT_EQ(r.meta.ethertype, 0x0800);
    EXPECT_EQ(r.meta.l3_len, 20);
    EXPECT_EQ(r.meta.l3_total, 20 + 28 + 10);
    EXPECT_EQ(r.meta.src_port, 40000);
    EXPECT_EQ(r.meta.dst_port, 443);
    EXPECT_EQ(r.meta.tcp_flags, 0x18);
    EXPECT_EQ(r.meta.flags, meta_l4_valid);
}

TEST_F(parse_test, unknown_ethertype_goes_on_as_other) {
    const parsed r = parse(cat(ethernet(0x88b5), filler(46, 1)));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3, l3_kind::other);
    EXPECT_EQ(r.meta.ethertype, 0x88b5);
    EXPECT_EQ(r.meta.l2_len, 14);
    EXPECT_EQ(r.meta.l3_len, 0);
    EXPECT_EQ(r.meta.flags, 0);
}

TEST_F(parse_test, arp_is_recognised) {
    const parsed r = parse(pad_to(cat(ethernet(ether_arp), arp()), 60));
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.meta.l3, l3_kind::arp);
    EXPECT_EQ(r.meta.ethertype, 0x0806);
}

TEST_F(parse_test, icmp_and_icmpv6_type_and_code) {
    ipv4_header h;
    h.proto = proto_icmp;
    const parsed r4 = parse(cat(ethernet(ether_ipv4), ipv4(h, icmp(3, 4, 28))));
    ASSERT_EQ(outcome(r4.why), "accepted");
    EXPECT_EQ(r4.meta.icmp_type, 3);
    EXPECT_EQ(r4.meta.icmp_code, 4);
    EXPECT_EQ(r4.meta.flags, meta_l4_valid);
    EXPECT_EQ(r4.meta.src_port, 0);

    ipv6_header h6;
    h6.next = proto_icmpv6;
    const parsed r6 = parse(cat(ethernet(ether_ipv6), ipv6(h6, icmp(135, 0, 16))));
    ASSERT_EQ(outcome(r6.why), "accepted");
    EXPECT_EQ(r6.meta.icmp_type, 135);
    EXPECT_EQ(r6.meta.flags, meta_l4_valid);
}

// ---- Jumbo frames in chained mbufs ----------------------------------------------------------

bytes jumbo_ipv4_udp(std::size_t frame_len) {
    const std::size_t payload = frame_len - 14 - 20 - 8;
    return cat(ethernet(ether_ipv4), ipv4({}, udp(9, 10, payload)));
}

TEST_F(parse_test, jumbo_9000_bytes_over_2k_segments) {
    const bytes f = jumbo_ipv4_udp(9000);
    ASSERT_EQ(f.size(), 9000u);
    const parsed r = parse(f);
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.segments, 5);
    EXPECT_EQ(r.meta.l3_total, 8986);
    EXPECT_EQ(r.meta.src_port, 9);
    EXPECT_EQ(r.meta.dst_port, 10);
}

TEST_F(parse_test, jumbo_with_the_ipv4_header_straddling_segments) {
    const bytes f = jumbo_ipv4_udp(9000);
    // 24 bytes in the first segment: the IPv4 header's first 10 bytes.
    const parsed r = parse(f, {24, 2048, 2048, 2048, 2048});
    ASSERT_EQ(outcome(r.why), "accepted");
    EXPECT_EQ(r.segments, 6);
    EXPECT_EQ(r.meta.l3_total, 8986);
    EXPECT_EQ(r.meta.src_port, 9);
    // The same frame with a wrong checksum is still caught.
    bytes bad = f;
    bad[14 + 12] ^= 0x40;  // source address
    EXPECT_EQ(outcome(parse(bad, {24, 2048, 2048, 2048, 2048}).why), "ipv4_bad_checksum");
}

TEST_F(parse_test, jumbo_total_length_past_the_chain_is_caught) {
    bytes f = jumbo_ipv4_udp(9000);
    f.resize(8000);  // total length still says 8986
    EXPECT_EQ(outcome(parse(f).why), "ipv4_bad_total_length");
}

// ---- The stage ------------------------------------------------------------------------------

TEST_F(parse_test, stage_keeps_the_well_formed_in_order_and_counts_each_drop) {
    const auto cases = malformed_corpus();
    auto counters = std::make_unique<segment_counters>();
    stage_context ctx(*counters);
    parse_stage stage;
    EXPECT_EQ(stage.name(), "parse");
    std::vector<uint64_t> want_drops(drop_reason_count, 0);
    std::vector<bytes> want_kept;
    std::vector<bytes> kept;
    for (std::size_t first = 0; first < cases.size(); first += max_burst) {
        burst b;
        const std::size_t n = std::min<std::size_t>(max_burst, cases.size() - first);
        for (std::size_t i = 0; i < n; ++i) {
            const corpus_case& c = cases[first + i];
            rte_mbuf* m = make_mbuf(c.frame);
            ASSERT_NE(m, nullptr);
            b.pkts[b.count++] = m;
            if (c.expect) {
                ++want_drops[static_cast<std::size_t>(*c.expect)];
            } else {
                want_kept.push_back(c.frame);
            }
        }
        stage.process(b, ctx);
        ctx.free_discarded();
        for (uint16_t i = 0; i < b.count; ++i) {
            rte_mbuf* m = b.pkts[i];
            EXPECT_EQ(meta_of(m)->in_port, test_port_id);
            bytes got(rte_pktmbuf_pkt_len(m));
            const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(got.size()), got.data());
            if (p != got.data()) {
                std::memcpy(got.data(), p, got.size());
            }
            kept.push_back(std::move(got));
            rte_pktmbuf_free(m);
        }
    }
    ASSERT_EQ(kept.size(), want_kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        EXPECT_EQ(kept[i], want_kept[i]) << "kept frame " << i;
    }
    for (std::size_t r = 0; r < drop_reason_count; ++r) {
        EXPECT_EQ(counters->drops[r].get(), want_drops[r]) << drop_reason_names[r];
    }
}

}  // namespace
}  // namespace dpdk_app
