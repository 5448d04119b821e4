#include "corpus.hpp"

#include <algorithm>

namespace dpdk_app::corpus {

namespace {

void put16(bytes& b, std::size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

void push16(bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

uint16_t checksum(const bytes& b, std::size_t from, std::size_t len) {
    uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) {
        sum += static_cast<uint32_t>(b[from + i] << 8 | b[from + i + 1]);
    }
    if (len % 2 != 0) {
        sum += static_cast<uint32_t>(b[from + len - 1] << 8);
    }
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

}  // namespace

bytes ethernet(uint16_t ethertype, const std::vector<vlan_tag>& tags) {
    bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    for (const auto& t : tags) {
        push16(b, t.tpid);
        push16(b, t.tci);
    }
    push16(b, ethertype);
    return b;
}

bytes ipv4(const ipv4_header& h, const bytes& payload) {
    const std::size_t hdr = 20 + h.options.size();
    bytes b(hdr, 0);
    const uint8_t ihl = h.ihl != 0 ? h.ihl : static_cast<uint8_t>(hdr / 4);
    b[0] = static_cast<uint8_t>(h.version << 4 | (ihl & 0x0f));
    b[1] = h.tos;
    put16(b, 2, h.total.value_or(static_cast<uint16_t>(hdr + payload.size())));
    put16(b, 4, 0x1234);  // identification
    put16(b, 6, h.frag);
    b[8] = h.ttl;
    b[9] = h.proto;
    std::copy(h.src.begin(), h.src.end(), b.begin() + 12);
    std::copy(h.dst.begin(), h.dst.end(), b.begin() + 16);
    std::copy(h.options.begin(), h.options.end(), b.begin() + 20);
    uint16_t sum = checksum(b, 0, hdr);
    if (h.bad_checksum) {
        sum ^= 0x0101;
    }
    put16(b, 10, sum);
    return cat(std::move(b), payload);
}

bytes ipv6(const ipv6_header& h, const bytes& payload) {
    bytes b(40, 0);
    b[0] = static_cast<uint8_t>(h.version << 4 | h.traffic_class >> 4);
    b[1] = static_cast<uint8_t>(h.traffic_class << 4);
    put16(b, 4, h.payload_length.value_or(static_cast<uint16_t>(payload.size())));
    b[6] = h.next;
    b[7] = h.hop_limit;
    std::copy(h.src.begin(), h.src.end(), b.begin() + 8);
    std::copy(h.dst.begin(), h.dst.end(), b.begin() + 24);
    return cat(std::move(b), payload);
}

bytes ipv6_ext(uint8_t next, uint8_t units) {
    bytes b((units + 1u) * 8, 0);
    b[0] = next;
    b[1] = units;
    b[2] = 1;  // PadN option covering the rest
    b[3] = static_cast<uint8_t>(b.size() - 4);
    return b;
}

bytes ipv6_ah(uint8_t next, uint8_t units) {
    bytes b((units + 2u) * 4, 0);
    b[0] = next;
    b[1] = units;
    b[7] = 0x42;  // SPI
    b[11] = 1;    // sequence number
    return b;
}

bytes ipv6_frag(uint8_t next, uint16_t offset, bool more) {
    bytes b(8, 0);
    b[0] = next;
    put16(b, 2, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
    b[7] = 0x77;  // identification
    return b;
}

bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t data_offset, std::size_t payload) {
    bytes b(std::max<std::size_t>(20, data_offset * 4u), 0);
    put16(b, 0, sport);
    put16(b, 2, dport);
    b[7] = 1;  // sequence number
    b[12] = static_cast<uint8_t>(data_offset << 4);
    b[13] = flags;
    put16(b, 14, 65535);  // window
    for (std::size_t i = 20; i < b.size(); ++i) {
        b[i] = 1;  // NOP options
    }
    return cat(std::move(b), filler(payload, 3));
}

bytes udp(uint16_t sport, uint16_t dport, std::size_t payload, std::optional<uint16_t> length) {
    bytes b(8, 0);
    put16(b, 0, sport);
    put16(b, 2, dport);
    put16(b, 4, length.value_or(static_cast<uint16_t>(8 + payload)));
    return cat(std::move(b), filler(payload, 5));
}

bytes icmp(uint8_t type, uint8_t code, std::size_t payload) {
    bytes b(8, 0);
    b[0] = type;
    b[1] = code;
    b[5] = 7;  // identifier
    b[7] = 1;  // sequence
    return cat(std::move(b), filler(payload, 9));
}

bytes arp() {
    return {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 0x02, 0, 0,   0,  0,   0x01,
            192,  0,    2,    1,    0, 0, 0,    0,    0,    0, 198, 51, 100, 2};
}

bytes cat(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

bytes pad_to(bytes f, std::size_t n) {
    if (f.size() < n) {
        f.resize(n, 0);
    }
    return f;
}

bytes truncated(bytes f, std::size_t n) {
    f.resize(std::min(n, f.size()));
    return f;
}

bytes filler(std::size_t n, uint8_t seed) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<uint8_t>(seed * 31 + i * 7);
    }
    return b;
}

std::vector<corpus_case> malformed_corpus() {
    using dr = drop_reason;
    const bytes e4 = ethernet(ether_ipv4);
    const bytes e6 = ethernet(ether_ipv6);
    const bytes udp_small = udp(1000, 53, 18);
    auto v4 = [&](const ipv4_header& h, const bytes& payload) {
        return pad_to(cat(e4, ipv4(h, payload)), 60);
    };
    auto v6 = [&](const ipv6_header& h, const bytes& payload) {
        return pad_to(cat(e6, ipv6(h, payload)), 60);
    };
    ipv4_header tcp4;
    tcp4.proto = proto_tcp;
    ipv4_header icmp4;
    icmp4.proto = proto_icmp;
    ipv6_header tcp6;
    tcp6.next = proto_tcp;
    ipv6_header icmp6;
    icmp6.next = proto_icmpv6;

    std::vector<corpus_case> c;
    auto add = [&](std::string name, bytes frame, std::optional<dr> expect) {
        c.push_back({std::move(name), std::move(frame), expect});
    };

    // L2
    add("eth_truncated", truncated(v4({}, udp_small), 13), dr::eth_truncated);
    add("eth_vlan_tag_truncated", cat(ethernet(ether_vlan), {0x00, 0x05}), dr::eth_truncated);
    add("vlan_ipv4_udp",
        pad_to(cat(ethernet(ether_ipv4, {{ether_vlan, 100}}), ipv4({}, udp_small)), 60),
        std::nullopt);
    add("qinq_88a8_ipv4_tcp",
        cat(ethernet(ether_ipv4, {{ether_qinq, 200}, {ether_vlan, 300}}),
            ipv4(tcp4, tcp(40000, 443, 0x18, 5, 10))),
        std::nullopt);
    add("qinq_8100_8100_ipv6_udp",
        cat(ethernet(ether_ipv6, {{ether_vlan, 7}, {ether_vlan, 8}}), ipv6({}, udp_small)),
        std::nullopt);
    add("vlan_triple_tag",
        pad_to(cat(ethernet(ether_ipv4, {{ether_qinq, 1}, {ether_vlan, 2}, {ether_vlan, 3}}),
                   ipv4({}, udp_small)),
               60),
        dr::vlan_too_deep);
    add("unknown_ethertype", cat(ethernet(0x88b5), filler(46, 1)), std::nullopt);
    add("arp_request", pad_to(cat(ethernet(ether_arp), arp()), 60), std::nullopt);
    add("arp_truncated", cat(ethernet(ether_arp), truncated(arp(), 27)), dr::arp_truncated);
    add("vlan_arp", pad_to(cat(ethernet(ether_arp, {{ether_vlan, 5}}), arp()), 64), std::nullopt);

    // IPv4 header
    add("ipv4_truncated", truncated(cat(e4, ipv4({}, udp_small)), 14 + 19), dr::ipv4_truncated);
    {
        ipv4_header h;
        h.version = 6;
        add("ipv4_bad_version", v4(h, udp_small), dr::ipv4_bad_version);
    }
    {
        ipv4_header h;
        h.ihl = 4;
        add("ipv4_ihl_below_5", v4(h, udp_small), dr::ipv4_bad_ihl);
    }
    {
        ipv4_header h;
        h.ihl = 15;
        add("ipv4_ihl_past_frame", cat(e4, ipv4(h, udp(1, 2))), dr::ipv4_ihl_past_frame);
    }
    {
        ipv4_header h;
        h.total = 0;
        add("ipv4_total_length_0", v4(h, udp_small), dr::ipv4_bad_total_length);
    }
    {
        ipv4_header h;
        h.options = {1, 1, 1, 0};
        h.total = 22;  // < IHL*4 = 24
        add("ipv4_total_length_below_header", v4(h, udp_small), dr::ipv4_bad_total_length);
    }
    {
        ipv4_header h;
        h.total = 20 + 26 + 1;
        add("ipv4_total_length_past_frame", cat(e4, ipv4(h, udp_small)), dr::ipv4_bad_total_length);
    }
    add("ipv4_padded_60_bytes", v4({}, udp(1000, 53, 0)), std::nullopt);
    {
        ipv4_header h;
        h.bad_checksum = true;
        add("ipv4_bad_checksum", v4(h, udp_small), dr::ipv4_bad_checksum);
    }
    {
        ipv4_header h;
        h.ttl = 0;
        add("ipv4_ttl_0", v4(h, udp_small), std::nullopt);
        h.ttl = 1;
        add("ipv4_ttl_1", v4(h, udp_small), std::nullopt);
    }
    {
        ipv4_header h;
        h.options = {0x94, 0x04, 0, 0};  // router alert
        add("ipv4_options", v4(h, udp_small), std::nullopt);
    }
    {
        ipv4_header h = tcp4;
        h.frag = 0x4000;
        add("ipv4_df_tcp", v4(h, tcp(1234, 80, 0x02)), std::nullopt);
    }

    // IPv4 fragments
    {
        ipv4_header h;
        h.frag = 185;  // offset 1480, last fragment
        add("ipv4_nonfirst_fragment", v4(h, filler(100, 2)), std::nullopt);
    }
    {
        ipv4_header h;
        h.frag = 0x2000;  // MF, offset 0: the UDP length covers the whole datagram
        add("ipv4_first_fragment", v4(h, udp(5000, 6000, 64, 3000)), std::nullopt);
    }
    {
        ipv4_header h = tcp4;
        h.frag = 0x2000;
        add("ipv4_tiny_fragment_tcp", v4(h, truncated(tcp(1, 2, 0x02), 16)),
            dr::ipv4_tiny_fragment);
    }
    {
        ipv4_header h;
        h.frag = 0x2000;
        add("ipv4_tiny_fragment_udp", v4(h, truncated(udp_small, 4)), dr::ipv4_tiny_fragment);
    }
    {
        ipv4_header h = tcp4;
        h.frag = 1;  // offset 8 bytes: would overwrite the TCP flags (RFC 1858)
        add("ipv4_tcp_fragment_offset_1", v4(h, filler(24, 4)), dr::ipv4_tiny_fragment);
    }

    // IPv4 L4
    add("ipv4_tcp_truncated", v4(tcp4, truncated(tcp(1, 2, 0x10), 19)), dr::tcp_truncated);
    add("ipv4_tcp_data_offset_4", v4(tcp4, tcp(1, 2, 0x10, 4, 8)), dr::tcp_bad_data_offset);
    {
        bytes t = truncated(tcp(1, 2, 0x10, 15), 30);  // says 60 bytes, has 30
        add("ipv4_tcp_data_offset_past_segment", v4(tcp4, t), dr::tcp_bad_data_offset);
    }
    add("ipv4_udp_truncated", v4({}, truncated(udp_small, 7)), dr::udp_truncated);
    add("ipv4_udp_length_below_8", v4({}, udp(1, 2, 10, 7)), dr::udp_bad_length);
    add("ipv4_udp_length_past_payload", v4({}, udp(1, 2, 10, 19)), dr::udp_bad_length);
    add("ipv4_icmp_truncated", v4(icmp4, truncated(icmp(8, 0), 7)), dr::icmp_truncated);
    add("ipv4_icmp_echo", v4(icmp4, icmp(8, 0, 56)), std::nullopt);
    {
        ipv4_header h;
        h.proto = 47;  // GRE: no L4 checks
        add("ipv4_other_protocol", v4(h, filler(4, 6)), std::nullopt);
    }

    // IPv6
    add("ipv6_truncated", truncated(cat(e6, ipv6({}, udp_small)), 14 + 39), dr::ipv6_truncated);
    {
        ipv6_header h;
        h.version = 4;
        add("ipv6_bad_version", v6(h, udp_small), dr::ipv6_bad_version);
    }
    {
        ipv6_header h;
        h.payload_length = 27;
        add("ipv6_payload_length_past_frame", cat(e6, ipv6(h, udp_small)),
            dr::ipv6_bad_payload_length);
    }
    add("ipv6_tcp", v6(tcp6, tcp(50000, 22, 0x12, 8, 20)), std::nullopt);
    add("ipv6_udp_padded", pad_to(cat(e6, ipv6({}, udp(1, 2))), 80), std::nullopt);
    {
        // Hop-by-hop, then 7 destination options headers: 8, the most allowed.
        ipv6_header h;
        h.next = 0;
        bytes chain = ipv6_ext(60);
        for (int i = 0; i < 6; ++i) {
            chain = cat(chain, ipv6_ext(60));
        }
        chain = cat(chain, ipv6_ext(proto_udp));
        add("ipv6_ext_chain_8", v6(h, cat(chain, udp_small)), std::nullopt);
        // One more: 9.
        ipv6_header h9;
        h9.next = 0;
        add("ipv6_ext_chain_9", v6(h9, cat(cat(ipv6_ext(60), chain), udp_small)),
            dr::ipv6_ext_chain_too_long);
    }
    {
        ipv6_header h;
        h.next = 43;
        add("ipv6_ext_truncated", v6(h, truncated(ipv6_ext(proto_udp, 2), 16)),
            dr::ipv6_ext_truncated);
        h.next = 60;
        add("ipv6_ext_truncated_before_length", v6(h, {17}), dr::ipv6_ext_truncated);
    }
    {
        ipv6_header h;
        h.next = 60;
        add("ipv6_hop_by_hop_not_first", v6(h, cat(cat(ipv6_ext(0), ipv6_ext(17)), udp_small)),
            dr::ipv6_hop_by_hop_misplaced);
    }
    {
        ipv6_header h;
        h.next = 44;
        add("ipv6_nonfirst_fragment", v6(h, cat(ipv6_frag(proto_udp, 100, false), filler(64, 3))),
            std::nullopt);
        add("ipv6_first_fragment", v6(h, cat(ipv6_frag(proto_udp, 0, true), udp(7, 8, 64, 4000))),
            std::nullopt);
    }
    {
        ipv6_header h;
        h.next = 51;
        add("ipv6_ah_dstopts_udp", v6(h, cat(cat(ipv6_ah(60), ipv6_ext(proto_udp, 1)), udp_small)),
            std::nullopt);
    }
    {
        ipv6_header h;
        h.next = 59;
        add("ipv6_no_next_header", v6(h, filler(8, 7)), std::nullopt);
    }
    add("ipv6_tcp_truncated", v6(tcp6, truncated(tcp(1, 2, 0x10), 19)), dr::tcp_truncated);
    add("ipv6_tcp_data_offset_past_segment", v6(tcp6, truncated(tcp(1, 2, 0x10, 6), 20)),
        dr::tcp_bad_data_offset);
    add("ipv6_udp_length_past_payload", v6({}, udp(1, 2, 4, 13)), dr::udp_bad_length);
    add("icmpv6_truncated", v6(icmp6, truncated(icmp(128, 0), 7)), dr::icmp_truncated);
    add("icmpv6_echo", v6(icmp6, icmp(128, 0, 32)), std::nullopt);
    return c;
}

}  // namespace dpdk_app::corpus
