// Configuration: TOML text -> validated model. Every error carries the
// file:line:col it refers to; all errors are collected, not just the first;
// unknown keys are errors. See docs/configuration.md for the reference.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/log.hpp"
#include "config/ip.hpp"
#include "config/units.hpp"

namespace dpdk_app {

enum class forwarding_mode { bridge, router };
enum class ring_full_policy { backpressure, drop };

struct source_position {
    uint32_t line = 0;
    uint32_t column = 0;
};

struct port_config {
    std::string name;                 // EAL device name, e.g. "net_tap0" or "0000:3b:00.0"
    uint16_t rx_desc = 1024;          // RX descriptors per queue
    uint16_t tx_desc = 1024;          // TX descriptors per queue
    std::optional<std::string> peer;  // bridge peer; unset = paired in order
    bool promiscuous = true;
    std::optional<std::string> police;  // a [[policer]] every packet arriving here passes
    source_position police_where;       // of the police key
    source_position where;
};

using mac_address = std::array<uint8_t, 6>;

// An interface: the appliance's own addresses on a port.
struct interface_config {
    std::string port;                  // port name (EAL device name)
    std::optional<mac_address> mac;    // unset = the port's own MAC
    std::vector<ip_prefix> addresses;  // address with its subnet length, host bits kept
    uint16_t mtu = 1500;               // L3 MTU, bytes
    source_position where;
};

// A static route. Without `via` the prefix is directly connected on `port`.
struct route_config {
    ip_prefix prefix;
    std::optional<ip_address> via;
    std::string port;    // empty = the interface whose subnet holds `via`
    std::string origin;  // "file:line:col" of the definition, for messages
};

// A static neighbour (ARP / NDP entry).
struct neighbor_config {
    ip_address address;
    mac_address mac{};
    std::string port;  // empty = the interface whose subnet holds the address
    source_position where;
};

struct router_config {
    std::vector<interface_config> interfaces;
    std::vector<route_config> routes;
    std::vector<neighbor_config> neighbors;
    std::optional<std::string> routes_file;  // "PREFIX [via ADDR] [dev PORT]" per line
};

// [responder]: ICMP error rate limits and neighbour resolution.
struct responder_config {
    uint32_t error_rate = 1000;  // ICMP errors per second per lane, all sources (0 = none)
    uint32_t error_burst = 100;
    uint32_t error_rate_per_source = 100;  // per source address (hashed into 256 buckets)
    uint32_t error_burst_per_source = 20;
    uint32_t neighbor_max = 4096;       // neighbour entries per address family
    uint32_t neighbor_timeout_s = 300;  // re-check a neighbour confirmed longer ago
    uint32_t resolve_retries = 3;       // ARP requests / solicitations before giving up
    uint32_t resolve_retry_ms = 200;    // first retry interval, doubling
    uint32_t hold_per_neighbor = 4;     // packets held while resolving (0 = drop them)
    uint32_t failed_hold_ms = 1000;     // drop at once for this long after a failure
    bool operator==(const responder_config&) const = default;
};

// [firewall]: an ordered rule list, first match wins, then the default.
enum class firewall_action : uint8_t { accept, drop, count, reject };
enum class fragment_match : uint8_t { none, first, non_first };  // not a fragment / offset 0 / offset > 0

struct port_range {
    uint16_t lo = 0;
    uint16_t hi = 65535;
    bool operator==(const port_range&) const = default;
};

// Connection states (firewall_rule::state, a set of these bits). A tracked
// packet is in exactly one: new (it opens a connection, or its connection
// has not seen a reply yet), established (its connection has seen both
// directions), related (an ICMP error about a tracked connection), invalid
// (it fits no connection: a TCP segment out of any handshake, an ICMP error
// or echo reply about nothing tracked, bad TCP flags); untracked: not
// looked up at all (fragments, ICMP other than echo and errors, NDP).
inline constexpr uint8_t ct_new = 1u << 0;
inline constexpr uint8_t ct_established = 1u << 1;
inline constexpr uint8_t ct_related = 1u << 2;
inline constexpr uint8_t ct_invalid = 1u << 3;
inline constexpr uint8_t ct_untracked = 1u << 4;

struct firewall_rule {
    std::string id;  // optional, unique; counters carry over a reload by id
    std::string comment;
    firewall_action action = firewall_action::accept;
    std::optional<std::string> in_port;  // port name
    std::optional<ip_prefix> src;
    std::optional<ip_prefix> dst;
    std::optional<bool> v6;        // the family the rule matches; unset: both
    std::optional<uint8_t> proto;  // IP protocol / IPv6 next header after extensions
    std::optional<port_range> sport;
    std::optional<port_range> dport;
    std::optional<uint8_t> icmp_type;
    std::optional<uint8_t> icmp_code;
    uint8_t tcp_flags = 0;       // value, compared under tcp_flags_mask
    uint8_t tcp_flags_mask = 0;  // 0: any
    std::optional<uint8_t> dscp;
    std::optional<uint16_t> vlan;  // outer VLAN id; 0 = untagged
    std::optional<fragment_match> fragment;
    uint8_t state = 0;  // ct_* bits: the states the rule matches; 0 = any
    std::optional<std::string> police;  // accept rules: the [[policer]] its packets pass
    source_position police_where;       // of the police key
    source_position where;
    std::string source;  // the file the rule came from when not the configuration file
};

// [firewall.conntrack]: connection tracking, on when the section is given
// (unless enabled = false) or a rule matches state. Timeouts in seconds.
struct conntrack_config {
    bool section = false;           // [firewall.conntrack] given
    std::optional<bool> enabled;    // its enabled key
    uint32_t capacity = 65536;  // connections per lane (restart-only)
    bool drop_invalid = true;   // invalid packets dropped before the rules (conntrack_invalid)
    uint32_t tcp_syn = 30;           // SYN seen, no handshake yet
    uint32_t tcp_established = 3600;
    uint32_t tcp_fin = 120;          // FIN seen (closing, time-wait)
    uint32_t tcp_closed = 10;        // after a RST
    uint32_t udp = 30;               // one direction seen
    uint32_t udp_stream = 120;       // both directions seen
    uint32_t icmp = 30;              // echo request / reply
    uint32_t other = 600;            // other protocols
    bool operator==(const conntrack_config&) const = default;
};

// [firewall.exact]: allow / deny lists of single addresses and flows, looked
// up in hash tables before the rules (lib/classify/exact.hpp). Each entry is
// one line "ACTION KIND ..." (docs/configuration.md, "Exact-match table").
enum class exact_kind : uint8_t {
    flow,  // flow PROTO SRC SPORT DST DPORT
    src,   // src ADDR [PROTO PORT]
    dst,   // dst ADDR [PROTO PORT]
};

struct exact_entry {
    firewall_action action = firewall_action::drop;  // accept or drop
    exact_kind kind = exact_kind::flow;
    bool l4 = false;     // flow: always; src / dst: with PROTO PORT
    bool in_file = false;  // from exact_config::file_path, else the configuration file
    uint8_t proto = 0;   // with l4
    uint16_t sport = 0;  // flow, src with l4; host order; 0 for protocols without ports
    uint16_t dport = 0;  // flow, dst with l4
    ip_address src;      // flow, src
    ip_address dst;      // flow, dst
    source_position where;  // the file's line:col, or the entries element's position
};

struct exact_config {
    std::optional<std::string> file;  // as written: relative to the configuration file
    std::string file_path;            // as read (load_config_file), for messages
    source_position file_where;       // of the file key
    std::vector<exact_entry> entries;  // entries = [...] in order, then the file's lines
    source_position where;             // of [firewall.exact]
};

struct firewall_config {
    firewall_action default_action = firewall_action::accept;
    bool default_set = false;  // firewall.default given
    std::vector<firewall_rule> rules;  // [[firewall.rule]]s, then the rules file's
    std::optional<std::string> rules_file_iptables;  // iptables-save FORWARD chain
    conntrack_config conntrack;
    std::optional<exact_config> exact;  // [firewall.exact]
    source_position where;

    // Whether connections are tracked: the section says so, or a rule
    // matches a state (and the section does not turn it off: an error).
    bool tracks_connections() const noexcept {
        if (conntrack.enabled) {
            return *conntrack.enabled;
        }
        return conntrack.section ||
               std::any_of(rules.begin(), rules.end(), [](const firewall_rule& r) { return r.state != 0; });
    }
};

// [[policer]]: a named token-bucket meter or leaky-bucket shaper
// (docs/configuration.md, "Policers"). Rates are in units per second and
// bursts in units, the unit being bytes or packets (every rate and burst of
// a policer counts the same unit; a time burst is already converted).
enum class policer_kind : uint8_t {
    srtcm,    // RFC 2697: cir, cbs, ebs
    trtcm,    // RFC 2698: cir, pir, cbs, pbs
    rfc4115,  // RFC 4115: cir, eir, cbs, ebs
    shaper,   // leaky bucket: rate, queue
};
// Which length a byte policer counts: l1 = the frame (without FCS, padded
// to 60 bytes) + 24 (preamble 7, SFD 1, FCS 4, inter-frame gap 12); l2 =
// the frame as received (Ethernet header on, FCS off); l3 = from the IP header on.
enum class length_mode : uint8_t { l1, l2, l3 };
enum class policer_scope : uint8_t { aggregate, per_source, per_flow };

// What happens to a packet of one colour.
struct color_action {
    enum class verb : uint8_t { transmit, drop, remark };
    verb what = verb::transmit;
    uint8_t dscp = 0;  // remark: the new DSCP, 0..63
    bool operator==(const color_action&) const = default;
};

struct policer_config {
    std::string name;  // unique among the policers
    policer_kind kind = policer_kind::srtcm;
    traffic_unit unit = traffic_unit::bytes;  // what the rates and bursts count
    uint64_t cir = 0;  // committed rate, units/s (srtcm, trtcm, rfc4115)
    uint64_t pir = 0;  // peak rate, units/s (trtcm; >= cir)
    uint64_t eir = 0;  // excess rate, units/s (rfc4115)
    uint64_t cbs = 0;  // committed burst, units (srtcm, trtcm, rfc4115)
    uint64_t ebs = 0;  // excess burst, units (srtcm, rfc4115)
    uint64_t pbs = 0;  // peak burst, units (trtcm)
    uint64_t rate = 0;  // shaper: units/s
    uint64_t queue = 0;  // shaper: capacity, in queue_unit
    traffic_unit queue_unit = traffic_unit::packets;
    length_mode length = length_mode::l2;  // byte policers only
    bool color_aware = false;  // pre-colour from DSCP (police/meter.hpp: dscp_color)
    color_action green{color_action::verb::transmit};
    color_action yellow{color_action::verb::transmit};
    color_action red{color_action::verb::drop};
    policer_scope scope = policer_scope::aggregate;
    uint8_t prefix_v4 = 32;  // per-source: the source prefix one bucket covers
    uint8_t prefix_v6 = 64;
    uint32_t max_keys = 65536;  // per-source / per-flow: buckets per lane
    uint32_t idle_timeout = 60;  // per-source / per-flow: seconds before an idle bucket goes
    uint32_t top_sources = 10;   // per-source: top talkers listed in the stats (0..64)
    source_position where;
};

// [flow]: flow accounting on the lanes and export to collectors
// (lib/flow). Timeouts in seconds, except the FIN linger.
enum class flow_packets : uint8_t {
    forwarded,  // what leaves through a port (after every decision): the default
    received,   // every IP packet parsed, whatever happens to it later (no egress known)
};
enum class flow_protocol : uint8_t { ipfix, netflow_v9, netflow_v5 };

struct flow_collector_config {
    std::string host;  // numeric IPv4 or IPv6 address
    uint16_t port = 0;
    flow_protocol protocol = flow_protocol::ipfix;
    source_position where;
    bool operator==(const flow_collector_config& o) const {
        return host == o.host && port == o.port && protocol == o.protocol;
    }
};

struct flow_config {
    uint32_t max_flows = 65536;       // live flows per lane (restart-only)
    uint32_t inactive_timeout = 15;   // s without a packet: the flow ends
    uint32_t active_timeout = 1800;   // s: a long flow is reported and counted afresh
    uint32_t fin_linger_ms = 1000;    // after a TCP FIN / RST, then the flow ends
    flow_packets packets = flow_packets::forwarded;
    uint32_t sampling = 1;            // count 1 packet in N (1: every packet)
    bool sampling_random = false;     // random 1-in-N rather than every Nth
    uint32_t ring_size = 8192;        // ended records queued per lane for the exporter
    uint32_t domain_id = 0;           // IPFIX observation domain / v9 source id / v5 engine id
    uint16_t mtu = 1400;              // the largest export message (UDP payload)
    uint32_t template_refresh = 60;   // s between template resends
    uint32_t top = 10;                // flows listed by bytes and by packets (stats, telemetry)
    std::vector<flow_collector_config> collectors;
    bool operator==(const flow_config&) const = default;
};

struct app_config {
    forwarding_mode mode = forwarding_mode::bridge;
    uint16_t lanes = 1;        // RX/TX queues per port; one pipeline copy each
    uint16_t burst_size = 64;  // packets per RX burst, 1..64
    bool validate = true;      // parse and validate every frame (bridge may turn it off)
    uint32_t idle_sleep_us = 0;
    uint32_t idle_rx_backoff = 8;  // an idle RX port is polled 1 visit in N (power of 2)
    bool idle_sleep_auto = true;  // sleep only when lcores share a CPU

    uint32_t ring_size = 1024;  // entries of each inter-lcore ring (power of two)
    ring_full_policy ring_full = ring_full_policy::backpressure;
    uint32_t tx_retries = 8;
    uint32_t timing_sample = 16;   // per-stage cycles on 1 burst in N (power of 2), 0 = off
    bool fuse = true;              // parse + route / parse + bridge + respond as one stage
    uint32_t lcores_per_lane = 0;  // 0 = auto
    std::vector<std::vector<std::string>> placement;  // empty = auto
    source_position placement_where;                  // of pipeline.placement, for messages

    uint32_t mbufs = 0;  // 0 = computed from ports, queues and rings
    uint32_t mbuf_cache = 256;
    uint16_t mbuf_data_room = 2048 + 128;  // RTE_MBUF_DEFAULT_BUF_SIZE

    std::vector<port_config> ports;  // empty = every port EAL found, paired in order
    router_config router;
    responder_config responder;
    std::optional<firewall_config> firewall;  // absent: no classify stage
    std::vector<policer_config> policers;     // [[policer]]s in order
    std::optional<flow_config> flow;          // absent: no flow stage
    std::vector<log_setting> log;             // [log]: level first, then per component

    std::string source;  // file name, or "<embedded default>"
};

struct config_error {
    std::string source;
    source_position where;
    std::string message;
    std::string to_string() const;
};

struct config_result {
    app_config config;
    std::vector<config_error> errors;
    bool ok() const { return errors.empty(); }
};

// Parses and validates TOML text. source names it in error messages.
config_result parse_config(std::string_view text, std::string_view source);
// Reads and parses a file; a missing or unreadable file is a config_error.
// A router.routes_file is read too, relative to the file's directory.
// What needs the stages to check (the placement against the chain, routes
// against the interfaces) is checked by the composer: dataplane/compose.hpp.
config_result load_config_file(const std::string& path);

// The configuration compiled into the binary (conf/default.toml).
std::string_view embedded_default_config();

// Parses a routes file ("PREFIX [via ADDR] [dev PORT]" per line, '#'
// comments) and appends to routes; errors name file:line.
void parse_routes_text(std::string_view text, const std::string& source,
                       std::vector<route_config>& routes, std::vector<config_error>& errors);
// Parses exact-match lines ("ACTION KIND ..." per line, '#' comments,
// blank lines ignored) and appends them to exact.entries (in_file set);
// errors name source:line:col. A key already in exact.entries (from
// either source) with another action is an error, with the same action
// the line is skipped.
void parse_exact_text(std::string_view text, const std::string& source, exact_config& exact,
                      std::vector<config_error>& errors);

std::optional<mac_address> parse_mac(std::string_view text);
// "tcp", "udp", "icmp", "icmpv6" / "ipv6-icmp", "gre", "esp", "ah", "sctp" ->
// the IP protocol number.
std::optional<uint8_t> parse_protocol_name(std::string_view name);
// "46", "ef", "af11".."af43", "cs0".."cs7", "va", "le", "be" / "default"
// (any case) -> the DSCP 0..63.
std::optional<uint8_t> parse_dscp(std::string_view text);
// "SYN,ACK" (FIN SYN RST PSH ACK URG ECE CWR ALL NONE) -> the TCP flag bits.
std::optional<uint8_t> parse_tcp_flag_list(std::string_view list);
// "new", "established", "related", "invalid", "untracked" (any case) -> its
// ct_* bit; nullopt for anything else.
std::optional<uint8_t> parse_ct_state(std::string_view name);
std::string to_string(const mac_address& mac);

}  // namespace dpdk_app
