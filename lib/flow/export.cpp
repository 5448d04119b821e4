#include "flow/export.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace dpdk_app {

namespace {

// A message being written, big-endian.
class writer {
  public:
    explicit writer(std::vector<uint8_t>& b) noexcept : b_(b) {}
    void u8(uint64_t v) { b_.push_back(static_cast<uint8_t>(v)); }
    void u16(uint64_t v) {
        u8(v >> 8);
        u8(v);
    }
    void u32(uint64_t v) {
        u16(v >> 16);
        u16(v);
    }
    void u64(uint64_t v) {
        u32(v >> 32);
        u32(v);
    }
    void bytes(const uint8_t* p, std::size_t n) { b_.insert(b_.end(), p, p + n); }
    void zeros(std::size_t n) { b_.insert(b_.end(), n, 0); }
    std::size_t size() const noexcept { return b_.size(); }
    void patch16(std::size_t at, uint64_t v) noexcept {
        b_[at] = static_cast<uint8_t>(v >> 8);
        b_[at + 1] = static_cast<uint8_t>(v);
    }

  private:
    std::vector<uint8_t>& b_;
};

struct field {
    uint16_t id;
    uint16_t length;
};

constexpr uint16_t template_v4 = 256;
constexpr uint16_t template_v6 = 257;
constexpr uint16_t template_options = 258;

// IPFIX information elements (IANA) of the data templates, in record order.
constexpr field ipfix_v4_fields[] = {
    {8, 4},   {12, 4}, {4, 1},  {7, 2},  {11, 2}, {6, 2},   {5, 1},   {10, 4},
    {14, 4},  {58, 2}, {2, 8},  {1, 8},  {152, 8}, {153, 8}, {136, 1},
};
constexpr field ipfix_v6_fields[] = {
    {27, 16}, {28, 16}, {4, 1},  {7, 2},  {11, 2}, {6, 2},   {5, 1},   {10, 4},
    {14, 4},  {58, 2},  {2, 8},  {1, 8},  {152, 8}, {153, 8}, {136, 1},
};
// Options: scope observationDomainId; samplingInterval, samplingAlgorithm,
// exportedFlowRecordTotalCount, notSentFlowTotalCount.
constexpr field ipfix_options_fields[] = {{149, 4}, {34, 4}, {35, 1}, {42, 8}, {166, 8}};

// NetFlow v9 field types, in record order.
// ICMP_TYPE (32): collectors read an ICMP flow's type and code there, not
// in L4_DST_PORT.
constexpr field v9_v4_fields[] = {
    {8, 4},  {12, 4}, {4, 1},  {7, 2}, {11, 2}, {32, 2}, {6, 1}, {5, 1},
    {10, 2}, {14, 2}, {58, 2}, {2, 8}, {1, 8},  {22, 4}, {21, 4},
};
constexpr field v9_v6_fields[] = {
    {27, 16}, {28, 16}, {4, 1},  {7, 2}, {11, 2}, {32, 2}, {6, 1}, {5, 1},
    {10, 2},  {14, 2},  {58, 2}, {2, 8}, {1, 8},  {22, 4}, {21, 4},
};

template <std::size_t N>
constexpr std::size_t record_length(const field (&fields)[N]) {
    std::size_t n = 0;
    for (const auto& f : fields) {
        n += f.length;
    }
    return n;
}

template <std::size_t N>
void template_record(writer& w, uint16_t id, const field (&fields)[N]) {
    w.u16(id);
    w.u16(N);
    for (const auto& f : fields) {
        w.u16(f.id);
        w.u16(f.length);
    }
}

uint32_t clamp32(uint64_t v) noexcept {
    return static_cast<uint32_t>(std::min<uint64_t>(v, std::numeric_limits<uint32_t>::max()));
}

// sysUptime of a wall-clock time: milliseconds since boot_ms (mod 2^32).
uint32_t uptime(uint64_t ms, uint64_t boot_ms) noexcept {
    return static_cast<uint32_t>(ms > boot_ms ? ms - boot_ms : 0);
}

// The fields both data formats share after the addresses.
void ipfix_record(writer& w, const flow_record& r) {
    const std::size_t alen = r.ip_version == 6 ? 16 : 4;
    w.bytes(r.src.data(), alen);
    w.bytes(r.dst.data(), alen);
    w.u8(r.proto);
    w.u16(r.sport);
    w.u16(r.dport);
    w.u16(r.tcp_flags);
    w.u8(static_cast<uint8_t>(r.dscp << 2));
    w.u32(r.in_if);
    w.u32(r.out_if);
    w.u16(r.vlan);
    w.u64(r.packets);
    w.u64(r.octets);
    w.u64(r.first_ms);
    w.u64(r.last_ms);
    w.u8(static_cast<uint8_t>(r.end));
}

void v9_record(writer& w, const flow_record& r, uint64_t boot_ms) {
    const std::size_t alen = r.ip_version == 6 ? 16 : 4;
    w.bytes(r.src.data(), alen);
    w.bytes(r.dst.data(), alen);
    w.u8(r.proto);
    w.u16(r.sport);
    w.u16(r.dport);
    w.u16(r.proto == 1 || r.proto == 58 ? r.dport : 0);  // ICMP_TYPE: type << 8 | code
    w.u8(r.tcp_flags);
    w.u8(static_cast<uint8_t>(r.dscp << 2));
    w.u16(r.in_if);
    w.u16(r.out_if);
    w.u16(r.vlan);
    w.u64(r.packets);
    w.u64(r.octets);
    w.u32(uptime(r.first_ms, boot_ms));
    w.u32(uptime(r.last_ms, boot_ms));
}

// Writes recs from next on as data sets (IPFIX) / flowsets (v9), one per
// run of records of one family, each set padded to `align` bytes, while
// the message stays within mtu; advances next. Returns the records written.
template <class Write>
std::size_t data_sets(writer& w, std::span<const flow_record> recs, std::size_t& next,
                      std::size_t mtu, std::size_t align, std::size_t len4, std::size_t len6,
                      Write write) {
    std::size_t set_at = 0;
    int set_family = 0;
    auto close_set = [&] {
        while ((w.size() - set_at) % align != 0) {
            w.u8(0);
        }
        w.patch16(set_at + 2, w.size() - set_at);
    };
    std::size_t n = 0;
    while (next < recs.size()) {
        const flow_record& r = recs[next];
        const int family = r.ip_version == 6 ? 6 : 4;
        // Room for the record, a new set header, and the padding.
        const std::size_t need =
            (family == 6 ? len6 : len4) + (family != set_family ? 4 : 0) + align - 1;
        if (w.size() + need > mtu) {
            break;
        }
        if (family != set_family) {
            if (set_family != 0) {
                close_set();
            }
            set_at = w.size();
            set_family = family;
            w.u16(family == 6 ? template_v6 : template_v4);
            w.u16(0);
        }
        write(w, r);
        ++n;
        ++next;
    }
    if (set_family != 0) {
        close_set();
    }
    return n;
}

}  // namespace

bool flow_encoder::templates_due(uint64_t now_ms) noexcept {
    return !templates_sent_ ||
           now_ms >= last_templates_ms_ + uint64_t{o_.template_refresh_s} * 1000;
}

void flow_encoder::encode(std::span<const flow_record> recs, uint64_t now_ms, uint64_t lost,
                          std::vector<std::vector<uint8_t>>& out) {
    switch (o_.protocol) {
        case export_protocol::ipfix:
            encode_ipfix(recs, now_ms, lost, out);
            break;
        case export_protocol::netflow_v9:
            encode_v9(recs, now_ms, out);
            break;
        case export_protocol::netflow_v5:
            encode_v5(recs, now_ms, out);
            break;
    }
}

void flow_encoder::encode_ipfix(std::span<const flow_record> recs, uint64_t now_ms, uint64_t lost,
                                std::vector<std::vector<uint8_t>>& out) {
    const bool templates = templates_due(now_ms);
    if (recs.empty() && !templates) {
        return;
    }
    std::size_t next = 0;
    bool first = true;
    while (first || next < recs.size()) {
        std::vector<uint8_t> msg;
        writer w(msg);
        const uint32_t sequence_at_start = sequence_;
        w.u16(10);
        w.u16(0);  // length, patched
        w.u32(now_ms / 1000);
        w.u32(sequence_at_start);
        w.u32(o_.domain_id);
        if (first && templates) {
            w.u16(2);  // template set
            w.u16(4 + 4 + 4 * std::size(ipfix_v4_fields) + 4 + 4 * std::size(ipfix_v6_fields));
            template_record(w, template_v4, ipfix_v4_fields);
            template_record(w, template_v6, ipfix_v6_fields);
            w.u16(3);  // options template set
            w.u16(4 + 6 + 4 * std::size(ipfix_options_fields));
            w.u16(template_options);
            w.u16(std::size(ipfix_options_fields));
            w.u16(1);  // scope fields
            for (const auto& f : ipfix_options_fields) {
                w.u16(f.id);
                w.u16(f.length);
            }
            w.u16(template_options);  // the options record
            w.u16(4 + record_length(ipfix_options_fields));
            w.u32(o_.domain_id);
            w.u32(o_.sampling_interval);
            w.u8(o_.sampling_interval <= 1 ? 0 : (o_.sampling_random ? 2 : 1));
            w.u64(exported_);
            w.u64(lost);
            // Counted in the sequence number, as RFC 7011 says (every data
            // record, options data records too; Wireshark checks it so).
            // nfdump 1.7 counts flow records only and reports one
            // "sequence error" per message after a refresh: a collector
            // quirk, no record is lost (docs/configuration.md).
            ++sequence_;
            templates_sent_ = true;
            last_templates_ms_ = now_ms;
        }
        first = false;
        const std::size_t n = data_sets(w, recs, next, o_.mtu, 1, record_length(ipfix_v4_fields),
                                        record_length(ipfix_v6_fields),
                                        [](writer& to, const flow_record& r) { ipfix_record(to, r); });
        sequence_ += static_cast<uint32_t>(n);
        exported_ += n;
        if (w.size() == 16) {
            break;  // nothing fitted (an MTU below one record cannot happen: >= 512)
        }
        w.patch16(2, w.size());
        out.push_back(std::move(msg));
    }
}

void flow_encoder::encode_v9(std::span<const flow_record> recs, uint64_t now_ms,
                             std::vector<std::vector<uint8_t>>& out) {
    const bool templates = templates_due(now_ms);
    if (recs.empty() && !templates) {
        return;
    }
    std::size_t next = 0;
    bool first = true;
    while (first || next < recs.size()) {
        std::vector<uint8_t> msg;
        writer w(msg);
        w.u16(9);
        w.u16(0);  // count, patched
        w.u32(uptime(now_ms, o_.boot_ms));
        w.u32(now_ms / 1000);
        w.u32(sequence_);
        w.u32(o_.domain_id);
        unsigned count = 0;
        if (first && templates) {
            w.u16(0);  // template flowset
            w.u16(4 + 4 + 4 * std::size(v9_v4_fields) + 4 + 4 * std::size(v9_v6_fields));
            template_record(w, template_v4, v9_v4_fields);
            template_record(w, template_v6, v9_v6_fields);
            count += 2;
            templates_sent_ = true;
            last_templates_ms_ = now_ms;
        }
        first = false;
        const std::size_t n = data_sets(w, recs, next, o_.mtu, 4, record_length(v9_v4_fields),
                                        record_length(v9_v6_fields),
                                        [this](writer& to, const flow_record& r) { v9_record(to, r, o_.boot_ms); });
        count += static_cast<unsigned>(n);
        exported_ += n;
        if (count == 0) {
            break;
        }
        w.patch16(2, count);
        ++sequence_;  // v9: one per export packet
        out.push_back(std::move(msg));
    }
}

void flow_encoder::encode_v5(std::span<const flow_record> recs, uint64_t now_ms,
                             std::vector<std::vector<uint8_t>>& out) {
    constexpr std::size_t header = 24;
    constexpr std::size_t record = 48;
    const std::size_t per_message = std::min<std::size_t>(30, (o_.mtu - header) / record);
    std::size_t next = 0;
    while (next < recs.size()) {
        std::vector<uint8_t> msg;
        writer w(msg);
        w.u16(5);
        w.u16(0);  // count, patched
        w.u32(uptime(now_ms, o_.boot_ms));
        w.u32(now_ms / 1000);
        w.u32((now_ms % 1000) * 1000000);
        w.u32(sequence_);
        w.u8(0);  // engine type
        w.u8(o_.domain_id);
        const uint32_t interval = std::min<uint32_t>(o_.sampling_interval, 0x3fff);
        w.u16(interval <= 1 ? 0 : ((o_.sampling_random ? 2u : 1u) << 14 | interval));
        unsigned count = 0;
        while (next < recs.size() && count < per_message) {
            const flow_record& r = recs[next++];
            if (r.ip_version != 4) {
                ++skipped_;  // v5 has no IPv6
                continue;
            }
            w.bytes(r.src.data(), 4);
            w.bytes(r.dst.data(), 4);
            w.u32(0);  // next hop
            w.u16(r.in_if);
            w.u16(r.out_if);
            w.u32(clamp32(r.packets));
            w.u32(clamp32(r.octets));
            w.u32(uptime(r.first_ms, o_.boot_ms));
            w.u32(uptime(r.last_ms, o_.boot_ms));
            w.u16(r.sport);
            w.u16(r.dport);
            w.u8(0);
            w.u8(r.tcp_flags);
            w.u8(r.proto);
            w.u8(static_cast<uint8_t>(r.dscp << 2));
            w.zeros(2 + 2 + 1 + 1 + 2);  // AS numbers, masks, pad
            ++count;
            ++exported_;
        }
        if (count == 0) {
            break;
        }
        w.patch16(2, count);
        sequence_ += count;  // v5: flows sent before the next message
        out.push_back(std::move(msg));
    }
}

udp_collector::udp_collector(const std::string& host, uint16_t port, std::string& error) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(*v6);
    } else {
        error = "collector '" + host + "': not a numeric IPv4 or IPv6 address";
        return;
    }
    fd_ = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        error = "collector " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
}

udp_collector::~udp_collector() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::size_t udp_collector::send(const std::vector<std::vector<uint8_t>>& messages) noexcept {
    std::size_t n = 0;
    for (const auto& m : messages) {
        if (::send(fd_, m.data(), m.size(), MSG_DONTWAIT) == static_cast<ssize_t>(m.size())) {
            ++n;
            ++sent_;
        } else {
            ++errors_;
            last_errno_ = errno;
        }
    }
    return n;
}

}  // namespace dpdk_app
