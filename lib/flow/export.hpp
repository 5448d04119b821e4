// Flow export, control side: ended flow records encoded as IPFIX (RFC 7011,
// IANA information elements), NetFlow v9 (RFC 3954) or NetFlow v5 messages
// that never exceed the configured size, and sent over UDP to collectors.
// Nothing here runs on a worker lcore: the workers hand records over a ring
// (the flow stage), the control thread encodes and sends them.
//
// Templates (IPFIX, v9): one for IPv4 records (id 256), one for IPv6 (257)
// and, for IPFIX, an options template (258) whose record carries the
// sampling interval and algorithm and the exporter's own counts (records
// exported, records lost). They go out in the first message and again every
// template_refresh_s seconds (UDP: a collector that starts late learns them).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dpdk_app {

// IANA flowEndReason (IPFIX element 136).
enum class flow_end_reason : uint8_t {
    idle_timeout = 1,
    active_timeout = 2,
    end_of_flow = 3,  // TCP FIN / RST
    forced_end = 4,   // shutdown
    lack_of_resources = 5,
};

// One flow as exported: what the flow stage accounted between first_ms and
// last_ms (wall clock, milliseconds since the epoch).
struct flow_record {
    uint8_t ip_version = 4;  // 4 or 6
    uint8_t proto = 0;
    uint8_t tcp_flags = 0;  // every flag seen (OR)
    uint8_t dscp = 0;       // of the first packet
    std::array<uint8_t, 16> src{};  // network order; IPv4 in the first 4 bytes
    std::array<uint8_t, 16> dst{};
    uint16_t sport = 0;  // TCP / UDP; 0 for ICMP
    uint16_t dport = 0;  // TCP / UDP; ICMP: type << 8 | code
    uint16_t in_if = 0;  // DPDK port ids
    uint16_t out_if = 0;
    uint16_t vlan = 0;
    uint64_t packets = 0;
    uint64_t octets = 0;  // IP length (from the IP header on)
    uint64_t first_ms = 0;
    uint64_t last_ms = 0;
    flow_end_reason end = flow_end_reason::idle_timeout;
};

enum class export_protocol : uint8_t { ipfix, netflow_v9, netflow_v5 };

struct encoder_options {
    export_protocol protocol = export_protocol::ipfix;
    uint32_t domain_id = 0;   // IPFIX observation domain, v9 source id, v5 engine id (low byte)
    uint16_t mtu = 1400;      // the largest message (UDP payload), >= 512
    uint32_t template_refresh_s = 60;
    uint64_t boot_ms = 0;     // when the exporter started (v5 / v9 sysUptime is relative to it)
    uint32_t sampling_interval = 1;  // 1-in-N packet sampling (1: every packet)
    bool sampling_random = false;    // random rather than deterministic 1-in-N
};

class flow_encoder {
  public:
    explicit flow_encoder(const encoder_options& o) noexcept : o_(o) {}

    // Encodes recs at wall-clock time now_ms into messages appended to out,
    // each at most options().mtu bytes; templates first when they are due.
    // NetFlow v5 carries IPv4 only: IPv6 records are skipped and counted
    // (skipped()). lost: records lost before the encoder (a full ring, a
    // full table), reported in the IPFIX options record.
    void encode(std::span<const flow_record> recs, uint64_t now_ms, uint64_t lost,
                std::vector<std::vector<uint8_t>>& out);

    const encoder_options& options() const noexcept { return o_; }
    uint64_t exported() const noexcept { return exported_; }  // data records encoded
    uint64_t skipped() const noexcept { return skipped_; }    // not encodable (v6 in v5)
    uint32_t sequence() const noexcept { return sequence_; }  // the next message's

  private:
    void encode_ipfix(std::span<const flow_record> recs, uint64_t now_ms, uint64_t lost,
                      std::vector<std::vector<uint8_t>>& out);
    void encode_v9(std::span<const flow_record> recs, uint64_t now_ms,
                   std::vector<std::vector<uint8_t>>& out);
    void encode_v5(std::span<const flow_record> recs, uint64_t now_ms,
                   std::vector<std::vector<uint8_t>>& out);
    bool templates_due(uint64_t now_ms) noexcept;

    encoder_options o_;
    uint32_t sequence_ = 0;  // IPFIX: data records sent; v9: messages sent; v5: flows sent
    uint64_t exported_ = 0;
    uint64_t skipped_ = 0;
    uint64_t last_templates_ms_ = 0;
    bool templates_sent_ = false;
};

// A collector: a UDP socket connected to host:port (numeric IPv4 or IPv6
// address). Sending never blocks; what the network refuses (ENOBUFS,
// ECONNREFUSED from an earlier datagram, ...) is counted, never retried.
class udp_collector {
  public:
    // nullptr-like (ok() false) with error when the address is not numeric
    // or the socket cannot be made.
    udp_collector(const std::string& host, uint16_t port, std::string& error);
    ~udp_collector();
    udp_collector(const udp_collector&) = delete;
    udp_collector& operator=(const udp_collector&) = delete;

    bool ok() const noexcept { return fd_ >= 0; }
    // Sends each message; returns how many went.
    std::size_t send(const std::vector<std::vector<uint8_t>>& messages) noexcept;

    uint64_t sent() const noexcept { return sent_; }
    uint64_t errors() const noexcept { return errors_; }
    int last_error() const noexcept { return last_errno_; }

  private:
    int fd_ = -1;
    uint64_t sent_ = 0;
    uint64_t errors_ = 0;
    int last_errno_ = 0;
};

}  // namespace dpdk_app
