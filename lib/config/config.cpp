#include "config/config.hpp"

#include "config/iptables.hpp"
#include "config/lines.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <toml++/toml.h>


namespace dpdk_app {

std::string config_error::to_string() const {
    std::ostringstream out;
    out << source;
    if (where.line > 0) {
        out << ':' << where.line << ':' << where.column;
    }
    out << ": " << message;
    return out.str();
}

namespace {

// line without its '#' comment (from the first '#' on).
std::string_view without_comment(std::string_view line) {
    return line.substr(0, line.find('#'));
}

source_position position_of(const toml::node& n) {
    const auto& s = n.source();
    return {static_cast<uint32_t>(s.begin.line), static_cast<uint32_t>(s.begin.column)};
}

std::string_view type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        default:
            return "a date/time";
    }
}

class error_sink {
  public:
    explicit error_sink(std::string source) : source_(std::move(source)) {}
    void add(source_position where, std::string message) {
        errors_.push_back({source_, where, std::move(message)});
    }
    std::vector<config_error> take() { return std::move(errors_); }
    std::size_t size() const { return errors_.size(); }
    const std::string& source() const { return source_; }

  private:
    std::string source_;
    std::vector<config_error> errors_;
};

// Reads one TOML table, remembering which keys were read, so that
// finish() can report every unknown key with its position.
class table_reader {
  public:
    table_reader(const toml::table& t, std::string path, error_sink& errors)
        : table_(t), path_(std::move(path)), errors_(errors) {}

    template <typename Int>
    void integer(std::string_view key, Int& out, int64_t min, int64_t max) {
        const toml::node* n = lookup(key);
        if (n == nullptr) {
            return;
        }
        auto v = n->value_exact<int64_t>();
        if (!v || *v < min || *v > max) {
            errors_.add(position_of(*n), full(key) + ": expected an integer in " +
                                             std::to_string(min) + ".." + std::to_string(max) +
                                             ", got " + describe(*n));
            return;
        }
        out = static_cast<Int>(*v);
    }

    void boolean(std::string_view key, bool& out) {
        const toml::node* n = lookup(key);
        if (n == nullptr) {
            return;
        }
        if (auto v = n->value_exact<bool>()) {
            out = *v;
        } else {
            errors_.add(position_of(*n),
                        full(key) + ": expected true or false, got " + describe(*n));
        }
    }

    // A string, optionally one of `allowed`.
    std::optional<std::string> string(std::string_view key,
                                      std::initializer_list<std::string_view> allowed = {}) {
        const toml::node* n = lookup(key);
        if (n == nullptr) {
            return std::nullopt;
        }
        auto v = n->value_exact<std::string>();
        if (!v) {
            errors_.add(position_of(*n), full(key) + ": expected a string, got " + describe(*n));
            return std::nullopt;
        }
        if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
            std::string list;
            for (auto a : allowed) {
                list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
            }
            errors_.add(position_of(*n),
                        full(key) + ": expected one of " + list + ", got \"" + *v + "\"");
            return std::nullopt;
        }
        return v;
    }

    const toml::node* node(std::string_view key) { return lookup(key); }

    const toml::table* table(std::string_view key) {
        const toml::node* n = lookup(key);
        if (n == nullptr) {
            return nullptr;
        }
        if (!n->is_table()) {
            errors_.add(position_of(*n), full(key) + ": expected a table, got " + describe(*n));
            return nullptr;
        }
        return n->as_table();
    }

    const toml::array* array(std::string_view key) {
        const toml::node* n = lookup(key);
        if (n == nullptr) {
            return nullptr;
        }
        if (!n->is_array()) {
            errors_.add(position_of(*n), full(key) + ": expected an array, got " + describe(*n));
            return nullptr;
        }
        return n->as_array();
    }

    void finish() {
        for (const auto& [k, v] : table_) {
            if (!known_.contains(std::string(k.str()))) {
                const auto& at = k.source().begin ? k.source() : v.source();
                errors_.add(
                    {static_cast<uint32_t>(at.begin.line), static_cast<uint32_t>(at.begin.column)},
                    "unknown key '" + full(k.str()) + "'");
            }
        }
    }

    std::string full(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

  private:
    const toml::node* lookup(std::string_view key) {
        known_.insert(std::string(key));
        return table_.get(key);
    }

    static std::string describe(const toml::node& n) {
        std::ostringstream out;
        out << type_name(n);
        if (n.is_value()) {
            out << " (";
            n.visit([&out](auto&& v) { out << v; });
            out << ")";
        }
        return out.str();
    }

    const toml::table& table_;
    std::string path_;
    error_sink& errors_;
    std::set<std::string> known_;
};

bool is_power_of_two(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

void read_dataplane(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("dataplane");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "dataplane", errors);
    if (auto mode = r.string("mode", {"bridge", "router"})) {
        c.mode = *mode == "router" ? forwarding_mode::router : forwarding_mode::bridge;
    }
    r.integer("lanes", c.lanes, 1, 64);
    r.integer("burst_size", c.burst_size, 1, 64);
    r.boolean("validate", c.validate);
    if (!c.validate && c.mode == forwarding_mode::router) {
        errors.add(
            position_of(*t->get("validate")),
            "dataplane.validate = false is for bridge mode only: routing needs parsed headers");
    }
    r.integer("idle_rx_backoff", c.idle_rx_backoff, 1, 64);
    if (const toml::node* n = t->get("idle_rx_backoff"); n && !is_power_of_two(c.idle_rx_backoff)) {
        errors.add(position_of(*n), "dataplane.idle_rx_backoff: expected a power of two, got " +
                                        std::to_string(c.idle_rx_backoff));
    }
    if (const toml::node* n = r.node("idle_sleep_us")) {
        if (auto s = n->value_exact<std::string>(); s && *s == "auto") {
            c.idle_sleep_auto = true;
        } else if (auto v = n->value_exact<int64_t>(); v && *v >= 0 && *v <= 100000) {
            c.idle_sleep_auto = false;
            c.idle_sleep_us = static_cast<uint32_t>(*v);
        } else {
            errors.add(position_of(*n),
                       "dataplane.idle_sleep_us: expected \"auto\" or an integer in 0..100000");
        }
    }
    r.finish();
}

void read_pipeline(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("pipeline");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "pipeline", errors);
    r.integer("ring_size", c.ring_size, 64, 1 << 20);
    if (const toml::node* n = t->get("ring_size"); n && !is_power_of_two(c.ring_size)) {
        errors.add(position_of(*n), "pipeline.ring_size: expected a power of two, got " +
                                        std::to_string(c.ring_size));
    }
    if (auto p = r.string("ring_full", {"backpressure", "drop"})) {
        c.ring_full = *p == "drop" ? ring_full_policy::drop : ring_full_policy::backpressure;
    }
    r.integer("tx_retries", c.tx_retries, 0, 1000000);
    r.integer("timing_sample", c.timing_sample, 0, 1024);
    if (const toml::node* n = t->get("timing_sample");
        n && c.timing_sample != 0 && !is_power_of_two(c.timing_sample)) {
        errors.add(position_of(*n), "pipeline.timing_sample: expected 0 or a power of two, got " +
                                        std::to_string(c.timing_sample));
    }
    r.boolean("fuse", c.fuse);
    r.integer("lcores_per_lane", c.lcores_per_lane, 0, 16);
    if (const toml::array* a = r.array("placement")) {
        // Checked against the chain of this configuration by the composer
        // (dataplane/compose.hpp: check_config), which knows the stages.
        c.placement_where = position_of(*a);
        bool shape_ok = true;
        for (const toml::node& group : *a) {
            const toml::array* g = group.as_array();
            if (g == nullptr || g->empty()) {
                errors.add(position_of(group),
                           "pipeline.placement: each lcore is a non-empty array of stage names");
                shape_ok = false;
                continue;
            }
            std::vector<std::string> names;
            for (const toml::node& s : *g) {
                auto name = s.value_exact<std::string>();
                if (!name) {
                    errors.add(position_of(s), "pipeline.placement: expected a stage name string");
                    shape_ok = false;
                    continue;
                }
                names.push_back(*name);
            }
            c.placement.push_back(std::move(names));
        }
        if (!shape_ok) {
            c.placement.clear();  // reported above: not checked against the chain as well
        }
    }
    r.finish();
}

void read_mempool(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("mempool");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "mempool", errors);
    r.integer("mbufs", c.mbufs, 0, 1 << 26);
    r.integer("cache_size", c.mbuf_cache, 0, 512);
    r.integer("data_room", c.mbuf_data_room, 256, 65535);
    r.finish();
}

void read_ports(table_reader& top, app_config& c, error_sink& errors) {
    const toml::array* a = top.array("port");
    if (a == nullptr) {
        return;
    }
    std::set<std::string> names;
    for (const toml::node& n : *a) {
        const toml::table* t = n.as_table();
        if (t == nullptr) {
            errors.add(position_of(n), "port: expected [[port]] tables");
            continue;
        }
        table_reader r(*t, "port", errors);
        port_config p;
        p.where = position_of(n);
        if (auto name = r.string("name"); name && !name->empty()) {
            p.name = *name;
            if (!names.insert(p.name).second) {
                errors.add(p.where, "port: '" + p.name + "' is configured twice");
            }
        } else {
            errors.add(p.where,
                       "port: every [[port]] needs a non-empty name (the EAL device name)");
        }
        r.integer("rx_desc", p.rx_desc, 32, 16384);
        r.integer("tx_desc", p.tx_desc, 32, 16384);
        r.boolean("promiscuous", p.promiscuous);
        p.peer = r.string("peer");
        if (const toml::node* police = r.node("police")) {
            p.police_where = position_of(*police);
            p.police = police->value_exact<std::string>();
            if (!p.police) {
                errors.add(p.police_where, "port.police: expected the name of a [[policer]]");
            }
        }
        r.finish();
        c.ports.push_back(std::move(p));
    }
    for (const auto& p : c.ports) {
        if (p.peer && !names.contains(*p.peer)) {
            errors.add(p.where,
                       "port '" + p.name + "': peer '" + *p.peer + "' is not a configured port");
        }
    }
    if (c.ports.size() > 32) {
        errors.add(position_of(*a), "port: at most 32 ports are supported");
    }
}

std::optional<ip_prefix> prefix_value(const toml::node& n, const std::string& what, bool host_bits,
                                      error_sink& errors) {
    auto text = n.value_exact<std::string>();
    if (!text) {
        errors.add(position_of(n), what + ": expected a prefix string such as \"192.0.2.0/24\"");
        return std::nullopt;
    }
    std::string why;
    auto p = parse_ip_prefix(*text, host_bits, why);
    if (!p) {
        errors.add(position_of(n), what + ": " + why);
    }
    return p;
}

std::optional<ip_address> address_value(table_reader& r, std::string_view key, const toml::table& t,
                                        error_sink& errors) {
    auto text = r.string(key);
    if (!text) {
        return std::nullopt;
    }
    auto a = parse_ip_address(*text);
    if (!a) {
        errors.add(position_of(*t.get(key)),
                   r.full(key) + ": '" + *text + "' is not an IPv4 or IPv6 address");
    }
    return a;
}

std::optional<mac_address> mac_value(table_reader& r, std::string_view key, const toml::table& t,
                                     error_sink& errors) {
    auto text = r.string(key);
    if (!text) {
        return std::nullopt;
    }
    auto mac = parse_mac(*text);
    if (!mac) {
        errors.add(position_of(*t.get(key)),
                   r.full(key) + ": '" + *text + "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
    }
    return mac;
}

void read_interfaces(table_reader& top, app_config& c, error_sink& errors) {
    const toml::array* a = top.array("interface");
    if (a == nullptr) {
        return;
    }
    std::set<std::string> ports;
    for (const toml::node& n : *a) {
        const toml::table* t = n.as_table();
        if (t == nullptr) {
            errors.add(position_of(n), "interface: expected [[interface]] tables");
            continue;
        }
        table_reader r(*t, "interface", errors);
        interface_config ic;
        ic.where = position_of(n);
        if (auto port = r.string("port"); port && !port->empty()) {
            ic.port = *port;
            if (!ports.insert(ic.port).second) {
                errors.add(ic.where, "interface: port '" + ic.port +
                                         "' has two [[interface]] tables; list all its "
                                         "addresses in one");
            }
        } else {
            errors.add(ic.where, "interface: every [[interface]] needs port = \"NAME\"");
        }
        ic.mac = mac_value(r, "mac", *t, errors);
        r.integer("mtu", ic.mtu, 68, 9000);
        if (const toml::array* addrs = r.array("addresses")) {
            for (const toml::node& an : *addrs) {
                if (auto p = prefix_value(an, "interface.addresses", true, errors)) {
                    if (p->address.v6 && ic.mtu < 1280) {
                        errors.add(position_of(an), "interface.addresses: IPv6 needs mtu >= 1280");
                    }
                    ic.addresses.push_back(*p);
                }
            }
        }
        r.finish();
        c.router.interfaces.push_back(std::move(ic));
    }
}

void read_routes(table_reader& top, app_config& c, error_sink& errors) {
    const toml::array* a = top.array("route");
    if (a == nullptr) {
        return;
    }
    for (const toml::node& n : *a) {
        const toml::table* t = n.as_table();
        if (t == nullptr) {
            errors.add(position_of(n), "route: expected [[route]] tables");
            continue;
        }
        table_reader r(*t, "route", errors);
        route_config rc;
        const auto where = position_of(n);
        rc.origin =
            errors.source() + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
        bool ok = true;
        if (const toml::node* pn = r.node("prefix")) {
            auto p = prefix_value(*pn, "route.prefix", false, errors);
            ok = ok && p.has_value();
            if (p) {
                rc.prefix = *p;
            }
        } else {
            errors.add(where, "route: every [[route]] needs prefix = \"ADDRESS/LENGTH\"");
            ok = false;
        }
        if (t->contains("via")) {
            rc.via = address_value(r, "via", *t, errors);
            ok = ok && rc.via.has_value();
        }
        if (auto port = r.string("port")) {
            rc.port = *port;
        }
        r.finish();
        if (ok) {
            c.router.routes.push_back(std::move(rc));
        }
    }
}

void read_neighbors(table_reader& top, app_config& c, error_sink& errors) {
    const toml::array* a = top.array("neighbor");
    if (a == nullptr) {
        return;
    }
    for (const toml::node& n : *a) {
        const toml::table* t = n.as_table();
        if (t == nullptr) {
            errors.add(position_of(n), "neighbor: expected [[neighbor]] tables");
            continue;
        }
        table_reader r(*t, "neighbor", errors);
        neighbor_config nc;
        nc.where = position_of(n);
        auto addr = address_value(r, "address", *t, errors);
        auto mac = mac_value(r, "mac", *t, errors);
        if (!t->contains("address") || !t->contains("mac")) {
            errors.add(nc.where, "neighbor: every [[neighbor]] needs address and mac");
        }
        if (auto port = r.string("port")) {
            nc.port = *port;
        }
        r.finish();
        if (addr && mac) {
            nc.address = *addr;
            nc.mac = *mac;
            c.router.neighbors.push_back(std::move(nc));
        }
    }
}

void read_responder(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("responder");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "responder", errors);
    responder_config& rc = c.responder;
    r.integer("error_rate", rc.error_rate, 0, 10'000'000);
    r.integer("error_burst", rc.error_burst, 1, 1'000'000);
    r.integer("error_rate_per_source", rc.error_rate_per_source, 0, 10'000'000);
    r.integer("error_burst_per_source", rc.error_burst_per_source, 1, 1'000'000);
    r.integer("neighbor_max", rc.neighbor_max, 16, 1 << 20);
    r.integer("neighbor_timeout_s", rc.neighbor_timeout_s, 1, 86400);
    r.integer("resolve_retries", rc.resolve_retries, 1, 20);
    r.integer("resolve_retry_ms", rc.resolve_retry_ms, 10, 60'000);
    r.integer("hold_per_neighbor", rc.hold_per_neighbor, 0, 64);
    r.integer("failed_hold_ms", rc.failed_hold_ms, 0, 600'000);
    r.finish();
}

// "80", 80 or "1000-2000"
std::optional<port_range> port_range_value(const toml::node& n, const std::string& what,
                                           error_sink& errors) {
    if (auto v = n.value_exact<int64_t>()) {
        if (*v >= 0 && *v <= 65535) {
            return port_range{static_cast<uint16_t>(*v), static_cast<uint16_t>(*v)};
        }
    } else if (auto text = n.value_exact<std::string>()) {
        unsigned lo = 0;
        unsigned hi = 0;
        char dash = 0;
        char extra = 0;
        const int k = std::sscanf(text->c_str(), "%u%c%u%c", &lo, &dash, &hi, &extra);
        if (k == 1 && lo <= 65535) {
            return port_range{static_cast<uint16_t>(lo), static_cast<uint16_t>(lo)};
        }
        if (k == 3 && dash == '-' && lo <= hi && hi <= 65535) {
            return port_range{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
        }
    }
    errors.add(position_of(n), what + ": expected a port 0..65535 or a range \"LOW-HIGH\"");
    return std::nullopt;
}

// "SYN/SYN,ACK,RST,FIN": the flags that must be set / the flags examined
// (iptables' --tcp-flags MASK COMP, written value first).
bool tcp_flags_value(const std::string& text, uint8_t& value, uint8_t& mask) {
    const auto slash = text.find('/');
    if (slash == std::string::npos) {
        return false;
    }
    const std::string_view all(text);
    const auto v = parse_tcp_flag_list(all.substr(0, slash));
    const auto m = parse_tcp_flag_list(all.substr(slash + 1));
    if (!v || !m || *m == 0 || (*v & ~*m) != 0) {
        return false;
    }
    value = *v;
    mask = *m;
    return true;
}

std::optional<uint8_t> protocol_value(const toml::node& n, error_sink& errors) {
    if (auto v = n.value_exact<int64_t>(); v && *v >= 0 && *v <= 255) {
        return static_cast<uint8_t>(*v);
    }
    if (auto text = n.value_exact<std::string>()) {
        if (auto number = parse_protocol_name(*text)) {
            return number;
        }
    }
    errors.add(position_of(n), "firewall.rule.proto: expected a protocol number 0..255 or one of "
                               "icmp, tcp, udp, gre, esp, ah, icmpv6, sctp");
    return std::nullopt;
}

// state = "established" or ["established", "related"]: a set of ct_* bits.
uint8_t state_value(const toml::node& n, error_sink& errors) {
    uint8_t bits = 0;
    bool ok = true;
    auto add = [&](const toml::node& e) {
        const auto name = e.value_exact<std::string>();
        const auto bit = name ? parse_ct_state(*name) : std::nullopt;
        ok = ok && bit.has_value();
        bits |= bit.value_or(0);
    };
    if (const toml::array* a = n.as_array()) {
        ok = !a->empty();
        for (const toml::node& e : *a) {
            add(e);
        }
    } else {
        add(n);
    }
    if (!ok) {
        errors.add(position_of(n), "firewall.rule.state: expected one or a list of \"new\", "
                                   "\"established\", \"related\", \"invalid\", \"untracked\"");
        return 0;
    }
    return bits;
}

void read_conntrack(table_reader& fw_reader, firewall_config& fw, error_sink& errors) {
    const toml::table* t = fw_reader.table("conntrack");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "firewall.conntrack", errors);
    conntrack_config& ct = fw.conntrack;
    ct.section = true;
    if (t->contains("enabled")) {
        bool on = true;
        r.boolean("enabled", on);
        ct.enabled = on;
    }
    r.integer("capacity", ct.capacity, 1024, 1u << 26);
    r.boolean("drop_invalid", ct.drop_invalid);
    if (const toml::table* timeouts = r.table("timeouts")) {
        table_reader tr(*timeouts, "firewall.conntrack.timeouts", errors);
        constexpr int64_t day = 86400;
        for (auto [key, out] : {std::pair{"tcp_syn", &ct.tcp_syn},
                                std::pair{"tcp_established", &ct.tcp_established},
                                std::pair{"tcp_fin", &ct.tcp_fin},
                                std::pair{"tcp_closed", &ct.tcp_closed}, std::pair{"udp", &ct.udp},
                                std::pair{"udp_stream", &ct.udp_stream},
                                std::pair{"icmp", &ct.icmp}, std::pair{"other", &ct.other}}) {
            tr.integer(key, *out, 1, 7 * day);
        }
        tr.finish();
    }
    r.finish();
}

void read_firewall_rule(const toml::node& n, std::set<std::string>& ids, firewall_config& fw,
                        error_sink& errors) {
    const toml::table* t = n.as_table();
    if (t == nullptr) {
        errors.add(position_of(n), "firewall.rule: expected [[firewall.rule]] tables");
        return;
    }
    table_reader r(*t, "firewall.rule", errors);
    firewall_rule rule;
    rule.where = position_of(n);
    const std::size_t before = errors.size();
    auto fail = [&](std::string message) { errors.add(rule.where, "firewall.rule: " + message); };
    if (auto id = r.string("id")) {
        rule.id = *id;
        if (rule.id.empty() || !ids.insert(rule.id).second) {
            fail(rule.id.empty() ? "id must not be empty" : "id '" + rule.id + "' is used twice");
        }
    }
    if (auto comment = r.string("comment")) {
        rule.comment = *comment;
    }
    if (const toml::node* police = r.node("police")) {
        rule.police_where = position_of(*police);
        rule.police = police->value_exact<std::string>();
        if (!rule.police) {
            errors.add(rule.police_where, "firewall.rule.police: expected the name of a [[policer]]");
        }
    }
    if (const toml::node* state = r.node("state")) {
        rule.state = state_value(*state, errors);
    }
    if (auto action = r.string("action", {"accept", "drop", "reject", "count"})) {
        rule.action = *action == "drop"     ? firewall_action::drop
                      : *action == "reject" ? firewall_action::reject
                      : *action == "count"  ? firewall_action::count
                                            : firewall_action::accept;
    } else if (!t->contains("action")) {
        fail("every rule needs action = \"accept\", \"drop\", \"reject\" or \"count\"");
    }
    rule.in_port = r.string("in_port");
    for (auto [key, out] : {std::pair{"src", &rule.src}, std::pair{"dst", &rule.dst}}) {
        if (const toml::node* pn = r.node(key)) {
            *out = prefix_value(*pn, std::string("firewall.rule.") + key, false, errors);
        }
    }
    if (rule.src && rule.dst && rule.src->address.v6 != rule.dst->address.v6) {
        fail("src and dst are of different address families");
    }
    if (rule.src || rule.dst) {
        rule.v6 = (rule.src ? rule.src->address.v6 : rule.dst->address.v6);
    }
    if (const toml::node* pn = r.node("proto")) {
        rule.proto = protocol_value(*pn, errors);
    }
    const bool ports_ok = rule.proto && (*rule.proto == 6 || *rule.proto == 17 || *rule.proto == 132);
    for (auto [key, out] : {std::pair{"sport", &rule.sport}, std::pair{"dport", &rule.dport}}) {
        if (const toml::node* pn = r.node(key)) {
            *out = port_range_value(*pn, std::string("firewall.rule.") + key, errors);
            if (!ports_ok) {
                errors.add(position_of(*pn), std::string("firewall.rule.") + key +
                                                 ": needs proto = \"tcp\", \"udp\" or \"sctp\"");
            }
        }
    }
    const bool icmp = rule.proto && (*rule.proto == 1 || *rule.proto == 58);
    if (icmp) {
        const bool v6 = *rule.proto == 58;
        if (rule.v6 && *rule.v6 != v6) {
            fail(std::string("proto ") + (v6 ? "icmpv6 with IPv4" : "icmp with IPv6") +
                 " addresses");
        }
        rule.v6 = v6;
    }
    for (auto [key, out] :
         {std::pair{"icmp_type", &rule.icmp_type}, std::pair{"icmp_code", &rule.icmp_code}}) {
        if (const toml::node* pn = r.node(key)) {
            uint8_t v = 0;
            r.integer(key, v, 0, 255);
            *out = v;
            if (!icmp) {
                errors.add(position_of(*pn), std::string("firewall.rule.") + key +
                                                 ": needs proto = \"icmp\" or \"icmpv6\"");
            }
        }
    }
    if (auto flags = r.string("tcp_flags")) {
        if (!tcp_flags_value(*flags, rule.tcp_flags, rule.tcp_flags_mask)) {
            errors.add(position_of(*t->get("tcp_flags")),
                       "firewall.rule.tcp_flags: expected \"SET/EXAMINED\", e.g. "
                       "\"SYN/SYN,ACK,RST,FIN\" (FIN SYN RST PSH ACK URG ECE CWR ALL NONE)");
        } else if (!rule.proto || *rule.proto != 6) {
            fail("tcp_flags needs proto = \"tcp\"");
        }
    }
    if (t->contains("dscp")) {
        uint8_t v = 0;
        r.integer("dscp", v, 0, 63);
        rule.dscp = v;
    }
    if (t->contains("vlan")) {
        uint16_t v = 0;
        r.integer("vlan", v, 0, 4095);
        rule.vlan = v;
    }
    if (auto frag = r.string("fragment", {"none", "first", "non-first"})) {
        rule.fragment = *frag == "none"    ? fragment_match::none
                        : *frag == "first" ? fragment_match::first
                                           : fragment_match::non_first;
        if (*rule.fragment == fragment_match::non_first &&
            (rule.sport || rule.dport || rule.icmp_type || rule.icmp_code ||
             rule.tcp_flags_mask != 0)) {
            fail("a non-first fragment has no L4 header: no ports, ICMP type or TCP flags");
        }
    }
    if (rule.police && t->contains("action") && rule.action != firewall_action::accept) {
        errors.add(rule.police_where,
                   "firewall.rule.police: only a rule with action = \"accept\" polices (its "
                   "accepted packets pass the policer); this rule's packets are not accepted");
    }
    r.finish();
    if (errors.size() == before) {
        fw.rules.push_back(std::move(rule));
    }
}

// ---- [firewall.exact] ------------------------------------------------------------------

struct exact_word {
    std::string_view text;
    uint32_t column;  // 1-based
};

struct exact_line_error {
    uint32_t column = 1;
    std::string message;
};

enum class exact_line { blank, entry, error };

std::optional<uint16_t> exact_port(std::string_view w) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec != std::errc() || end != w.data() + w.size() || v > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(v);
}

std::optional<uint8_t> exact_protocol(std::string_view w) {
    if (auto p = parse_protocol_name(w)) {
        return p;
    }
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec != std::errc() || end != w.data() + w.size() || v > 255) {
        return std::nullopt;
    }
    return static_cast<uint8_t>(v);
}

std::string exact_protocol_name(uint8_t proto) {
    static constexpr std::pair<uint8_t, std::string_view> names[] = {
        {1, "icmp"}, {6, "tcp"}, {17, "udp"}, {47, "gre"}, {50, "esp"},
        {51, "ah"},  {58, "icmpv6"}, {132, "sctp"}};
    for (const auto& [number, name] : names) {
        if (number == proto) {
            return std::string(name);
        }
    }
    return std::to_string(proto);
}

// The entry as a line would write it.
std::string exact_text(const exact_entry& e) {
    std::string out = e.action == firewall_action::accept ? "accept " : "drop ";
    switch (e.kind) {
        case exact_kind::flow:
            return out + "flow " + exact_protocol_name(e.proto) + " " + to_string(e.src) + " " +
                   std::to_string(e.sport) + " " + to_string(e.dst) + " " +
                   std::to_string(e.dport);
        case exact_kind::src:
            out += "src " + to_string(e.src);
            break;
        case exact_kind::dst:
            out += "dst " + to_string(e.dst);
            break;
    }
    if (e.l4) {
        out += " " + exact_protocol_name(e.proto) + " " +
               std::to_string(e.kind == exact_kind::src ? e.sport : e.dport);
    }
    return out;
}

// One line, its comment already cut off: an entry, nothing, or why not.
exact_line parse_exact_line(std::string_view line, exact_entry& e, exact_line_error& error) {
    constexpr std::size_t max_words = 8;
    std::array<exact_word, max_words> words;
    std::size_t n = 0;
    for (std::size_t i = 0; i < line.size();) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            ++i;
        }
        if (i > start && n < max_words) {
            words[n++] = {line.substr(start, i - start), static_cast<uint32_t>(start + 1)};
        }
    }
    if (n == 0) {
        return exact_line::blank;
    }
    auto fail = [&](const exact_word& w, std::string message) {
        error = {w.column, std::move(message)};
        return exact_line::error;
    };
    auto quoted = [](const exact_word& w) { return "'" + std::string(w.text) + "'"; };
    if (words[0].text == "accept" || words[0].text == "drop") {
        e.action = words[0].text == "accept" ? firewall_action::accept : firewall_action::drop;
    } else {
        return fail(words[0], quoted(words[0]) + " is not an action: expected accept or drop");
    }
    if (n == 1) {
        return fail(words[0], "expected ACTION KIND ..., e.g. \"drop src 203.0.113.9\"");
    }
    const exact_word& kind = words[1];
    if (kind.text == "flow") {
        e.kind = exact_kind::flow;
    } else if (kind.text == "src" || kind.text == "dst") {
        e.kind = kind.text == "src" ? exact_kind::src : exact_kind::dst;
    } else {
        return fail(kind, quoted(kind) + " is not a kind: expected flow, src or dst");
    }
    const bool flow = e.kind == exact_kind::flow;
    const std::size_t arity = flow ? 7 : n <= 3 ? 3 : 5;
    if (n > arity) {
        return fail(words[arity], "unexpected " + quoted(words[arity]) + " after the entry");
    }
    if (n < arity || n == 4) {
        return fail(n == 4 ? words[3] : kind,
                    flow     ? "flow needs PROTO SRC SPORT DST DPORT"
                    : n == 4 ? "a protocol needs a port: " + std::string(kind.text) +
                                   " ADDR PROTO PORT"
                             : std::string(kind.text) + " needs ADDR [PROTO PORT]");
    }
    auto address = [&](const exact_word& w, ip_address& out) {
        auto a = parse_ip_address(w.text);
        if (a) {
            out = *a;
        }
        return a.has_value();
    };
    // Where each part is: flow PROTO SRC SPORT DST DPORT / src ADDR PROTO PORT.
    const exact_word* proto_word = flow ? &words[2] : n == 5 ? &words[3] : nullptr;
    const exact_word& addr_word = flow ? words[3] : words[2];
    std::array<const exact_word*, 2> port_words = {flow ? &words[4] : nullptr,
                                                   flow ? &words[6] : nullptr};
    if (!flow && n == 5) {
        port_words[e.kind == exact_kind::src ? 0 : 1] = &words[4];
    }
    ip_address& addr = e.kind == exact_kind::dst ? e.dst : e.src;
    if (!address(addr_word, addr)) {
        return fail(addr_word, quoted(addr_word) + " is not an IPv4 or IPv6 address");
    }
    if (flow) {
        if (!address(words[5], e.dst)) {
            return fail(words[5], quoted(words[5]) + " is not an IPv4 or IPv6 address");
        }
        if (e.src.v6 != e.dst.v6) {
            return fail(words[5], "SRC and DST are of different address families");
        }
    }
    if (proto_word == nullptr) {
        return exact_line::entry;
    }
    e.l4 = true;
    const auto proto = exact_protocol(proto_word->text);
    if (!proto) {
        return fail(*proto_word, quoted(*proto_word) +
                                     " is not a protocol: expected a number 0..255 or one of "
                                     "icmp, tcp, udp, gre, esp, ah, icmpv6, sctp");
    }
    e.proto = *proto;
    if ((e.proto == 1 && addr.v6) || (e.proto == 58 && !addr.v6)) {
        return fail(*proto_word, e.proto == 1 ? "icmp with an IPv6 address (IPv6 has icmpv6)"
                                              : "icmpv6 with an IPv4 address (IPv4 has icmp)");
    }
    const bool has_ports = e.proto == 6 || e.proto == 17;
    for (std::size_t k = 0; k < 2; ++k) {
        if (port_words[k] == nullptr) {
            continue;
        }
        const auto port = exact_port(port_words[k]->text);
        if (!port) {
            return fail(*port_words[k], quoted(*port_words[k]) + " is not a port 0..65535");
        }
        if (*port != 0 && !has_ports) {
            return fail(*port_words[k], "only tcp and udp are matched on ports: write 0 for " +
                                            std::string(proto_word->text));
        }
        (k == 0 ? e.sport : e.dport) = *port;
    }
    return exact_line::entry;
}

// The entries of an exact_config by key: a key listed again with the same
// action is skipped, with another action it is an error.
class exact_index {
  public:
    explicit exact_index(const exact_config& x) {
        by_key_.reserve(x.entries.size());
        for (std::size_t i = 0; i < x.entries.size(); ++i) {
            by_key_.emplace(key_of(x.entries[i]), i);
        }
    }

    // Adds e to x.entries; a message when its key is there with another action.
    std::optional<std::string> add(exact_config& x, exact_entry e) {
        const auto [it, fresh] = by_key_.emplace(key_of(e), x.entries.size());
        if (fresh) {
            x.entries.push_back(std::move(e));
            return std::nullopt;
        }
        const exact_entry& first = x.entries[it->second];
        if (first.action == e.action) {
            return std::nullopt;
        }
        const std::string at = std::to_string(first.where.line) + ":" +
                               std::to_string(first.where.column);
        return "'" + exact_text(e) + "' contradicts '" + exact_text(first) + "' (" +
               (first.in_file ? x.file_path + ":" + at
                              : "firewall.exact.entries at " + at + " of the configuration file") +
               "): the same key with another action";
    }

  private:
    using key = std::array<char, 40>;
    struct key_hash {
        std::size_t operator()(const key& k) const noexcept {
            return std::hash<std::string_view>{}(std::string_view(k.data(), k.size()));
        }
    };

    static key key_of(const exact_entry& e) {
        key k{};
        k[0] = static_cast<char>(e.kind);
        k[1] = static_cast<char>(e.l4);
        k[2] = static_cast<char>(e.proto);
        k[3] = static_cast<char>(e.kind == exact_kind::dst ? e.dst.v6 : e.src.v6);
        k[4] = static_cast<char>(e.sport >> 8);
        k[5] = static_cast<char>(e.sport);
        k[6] = static_cast<char>(e.dport >> 8);
        k[7] = static_cast<char>(e.dport);
        std::copy(e.src.bytes.begin(), e.src.bytes.end(), k.begin() + 8);
        std::copy(e.dst.bytes.begin(), e.dst.bytes.end(), k.begin() + 24);
        return k;
    }

    std::unordered_map<key, std::size_t, key_hash> by_key_;
};

void read_exact(table_reader& fw_reader, firewall_config& fw, error_sink& errors) {
    const toml::table* t = fw_reader.table("exact");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "firewall.exact", errors);
    exact_config x;
    x.where = position_of(*t);
    if (const toml::node* file = r.node("file")) {
        x.file_where = position_of(*file);
        x.file = r.string("file");
        if (x.file && x.file->empty()) {
            errors.add(x.file_where, "firewall.exact.file: must not be empty");
            x.file.reset();
        }
    }
    if (const toml::array* entries = r.array("entries")) {
        exact_index index(x);
        for (const toml::node& n : *entries) {
            const auto text = n.value_exact<std::string>();
            if (!text) {
                errors.add(position_of(n), "firewall.exact.entries: expected strings such as "
                                           "\"drop src 203.0.113.9\", got " +
                                               std::string(type_name(n)));
                continue;
            }
            const std::string_view line = without_comment(*text);
            exact_entry e;
            exact_line_error why;
            const exact_line got = parse_exact_line(line, e, why);
            if (got == exact_line::error) {
                errors.add(position_of(n), "firewall.exact.entries: " + why.message);
            } else if (got == exact_line::entry) {
                e.where = position_of(n);
                if (auto conflict = index.add(x, std::move(e))) {
                    errors.add(position_of(n), "firewall.exact.entries: " + *conflict);
                }
            }
        }
    }
    r.finish();
    fw.exact = std::move(x);
}

void read_firewall(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("firewall");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "firewall", errors);
    firewall_config fw;
    fw.where = position_of(*t);
    const auto policy = r.string("default", {"accept", "drop"});
    if (policy) {
        fw.default_action = *policy == "drop" ? firewall_action::drop : firewall_action::accept;
        fw.default_set = true;
    }
    fw.rules_file_iptables = r.string("rules_file_iptables");
    read_conntrack(r, fw, errors);
    read_exact(r, fw, errors);
    std::set<std::string> ids;
    if (const toml::array* rules = r.array("rule")) {
        for (const toml::node& n : *rules) {
            read_firewall_rule(n, ids, fw, errors);
        }
        if (!rules->empty() && !t->contains("default") && !fw.rules_file_iptables) {
            errors.add(fw.where, "firewall: a rule list needs default = \"accept\" or \"drop\"");
        }
    }
    r.finish();
    c.firewall = std::move(fw);
}

// ---- [[policer]] ------------------------------------------------------------------------

// The keys of each kind: its rates, its bursts, and the rate at which each
// burst written as a time is converted (an index into rates). Every key is
// required but an srTCM's ebs (none: no yellow, what C cannot take is red).
struct policer_layout {
    std::string_view kind;
    policer_kind value;
    std::array<std::string_view, 2> rates;  // "" = none
    std::array<std::string_view, 2> bursts;
    std::array<uint8_t, 2> burst_rate;
    std::string_view optional;
};

constexpr std::array<policer_layout, 4> policer_layouts = {{
    {"srtcm", policer_kind::srtcm, {"cir", ""}, {"cbs", "ebs"}, {0, 0}, "ebs"},
    {"trtcm", policer_kind::trtcm, {"cir", "pir"}, {"cbs", "pbs"}, {0, 1}, ""},
    {"rfc4115", policer_kind::rfc4115, {"cir", "eir"}, {"cbs", "ebs"}, {0, 1}, ""},
    {"shaper", policer_kind::shaper, {"rate", ""}, {"queue", ""}, {0, 0}, ""},
}};

uint64_t* policer_field(policer_config& p, std::string_view key) {
    const std::array<std::pair<std::string_view, uint64_t*>, 8> fields = {{{"cir", &p.cir},
                                                                           {"pir", &p.pir},
                                                                           {"eir", &p.eir},
                                                                           {"rate", &p.rate},
                                                                           {"cbs", &p.cbs},
                                                                           {"ebs", &p.ebs},
                                                                           {"pbs", &p.pbs},
                                                                           {"queue", &p.queue}}};
    for (const auto& [name, field] : fields) {
        if (name == key) {
            return field;
        }
    }
    return nullptr;
}

// A rate or a burst: parse (parse_rate, parse_burst) of the node's string,
// or nullopt, reported at the node's position.
template <typename Quantity>
std::optional<Quantity> quantity_value(const toml::node& n, const std::string& what,
                                       std::string_view forms,
                                       std::optional<Quantity> (*parse)(std::string_view,
                                                                        std::string&),
                                       error_sink& errors) {
    const auto text = n.value_exact<std::string>();
    if (!text) {
        errors.add(position_of(n), what + ": " +
                                       (n.is_number() ? "a number without a unit" : "not a string") +
                                       ": expected " + std::string(forms));
        return std::nullopt;
    }
    std::string why;
    auto value = parse(*text, why);
    if (!value) {
        errors.add(position_of(n), what + ": " + why);
    }
    return value;
}

// "transmit", "drop" or "remark:DSCP".
std::optional<color_action> color_action_value(const std::string& text) {
    if (text == "transmit" || text == "drop") {
        return color_action{text == "drop" ? color_action::verb::drop : color_action::verb::transmit};
    }
    constexpr std::string_view remark = "remark:";
    if (text.starts_with(remark)) {
        if (auto dscp = parse_dscp(std::string_view(text).substr(remark.size()))) {
            return color_action{color_action::verb::remark, *dscp};
        }
    }
    return std::nullopt;
}

bool policer_name_ok(const std::string& name) {
    return !name.empty() && name.size() <= 64 &&
           std::all_of(name.begin(), name.end(), [](unsigned char ch) {
               return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
           });
}

// "policer 'NAME'", or "policer" for one without a name, in messages.
std::string policer_label(const policer_config& p) {
    return p.name.empty() ? "policer" : "policer '" + p.name + "'";
}

// The rates and bursts of p's kind (layout), converted to one unit.
void read_policer_amounts(table_reader& r, const policer_layout& layout, policer_config& p,
                          error_sink& errors) {
    std::array<std::optional<traffic_rate>, 2> rates;
    std::array<const toml::node*, 2> rate_nodes{};
    auto missing = [&](std::string_view key) {
        errors.add(p.where, policer_label(p) + ": kind \"" + std::string(layout.kind) +
                                "\" needs " + std::string(key));
    };
    for (std::size_t i = 0; i < layout.rates.size() && !layout.rates[i].empty(); ++i) {
        const std::string_view key = layout.rates[i];
        rate_nodes[i] = r.node(key);
        if (rate_nodes[i] == nullptr) {
            missing(key);
            continue;
        }
        rates[i] = quantity_value(*rate_nodes[i], r.full(key), rate_forms, parse_rate, errors);
        if (rates[i]) {
            *policer_field(p, key) = rates[i]->per_second;
        }
    }
    if (rates[0] && rates[1] && rates[0]->unit != rates[1]->unit) {
        errors.add(position_of(*rate_nodes[1]),
                   r.full(layout.rates[1]) + ": counts " +
                       (rates[1]->unit == traffic_unit::packets ? "packets" : "bytes") + " but " +
                       std::string(layout.rates[0]) +
                       " does not: the rates of a policer count the same (pps, or bits / bytes)");
        rates[1].reset();
    }
    const auto& unit_rate = rates[0] ? rates[0] : rates[1];
    p.unit = unit_rate ? unit_rate->unit : traffic_unit::bytes;
    for (std::size_t i = 0; i < layout.bursts.size() && !layout.bursts[i].empty(); ++i) {
        const std::string_view key = layout.bursts[i];
        const toml::node* n = r.node(key);
        if (n == nullptr) {
            if (key != layout.optional) {
                missing(key);
            }
            continue;
        }
        const auto burst = quantity_value(*n, r.full(key), burst_forms, parse_burst, errors);
        const auto& rate = rates[layout.burst_rate[i]];
        if (!burst || !rate) {
            continue;
        }
        if (p.kind == policer_kind::shaper && burst->kind != burst_kind::time) {
            p.queue = burst->amount;  // packets or bytes, whatever the rate counts
            p.queue_unit = burst->kind == burst_kind::packets ? traffic_unit::packets
                                                              : traffic_unit::bytes;
            continue;
        }
        std::string why;
        if (auto amount = burst_at_rate(*burst, *rate, why)) {
            *policer_field(p, key) = *amount;
            if (p.kind == policer_kind::shaper) {
                p.queue_unit = rate->unit;  // the time's worth of the rate
            }
        } else {
            errors.add(position_of(*n), r.full(key) + ": \"" + *n->value_exact<std::string>() +
                                            "\" " + why);
        }
    }
    if (p.kind == policer_kind::shaper && p.queue_unit == traffic_unit::packets &&
        p.queue > (1u << 20)) {
        errors.add(position_of(*r.node("queue")),
                   r.full("queue") + ": at most 1048576 packets (each waits in an mbuf)");
    }
    if (p.kind == policer_kind::trtcm && rates[0] && rates[1] && p.pir < p.cir) {
        errors.add(position_of(*rate_nodes[1]),
                   r.full("pir") + ": must be at least cir (RFC 2698: PIR >= CIR)");
    }
}

void read_policer(const toml::node& n, std::map<std::string, source_position>& names,
                  app_config& c, error_sink& errors) {
    const toml::table* t = n.as_table();
    if (t == nullptr) {
        errors.add(position_of(n), "policer: expected [[policer]] tables");
        return;
    }
    table_reader r(*t, "policer", errors);
    policer_config p;
    p.where = position_of(n);
    const std::size_t before = errors.size();
    if (auto name = r.string("name")) {
        p.name = *name;
        const auto at = position_of(*t->get("name"));
        if (!policer_name_ok(p.name)) {
            errors.add(at, "policer.name: \"" + p.name +
                               "\" is not a name: 1 to 64 letters, digits, '_', '-', '.'");
        } else if (const auto [it, fresh] = names.emplace(p.name, at); !fresh) {
            errors.add(at, "policer.name: '" + p.name + "' is already the name of the policer at " +
                               std::to_string(it->second.line) + ":" +
                               std::to_string(it->second.column));
        }
    } else if (!t->contains("name")) {
        errors.add(p.where, "policer: every [[policer]] needs name = \"NAME\"");
    }
    const policer_layout* layout = nullptr;
    if (auto kind = r.string("kind", {"srtcm", "trtcm", "rfc4115", "shaper"})) {
        layout = &*std::find_if(policer_layouts.begin(), policer_layouts.end(),
                                [&](const policer_layout& l) { return l.kind == *kind; });
        p.kind = layout->value;
        read_policer_amounts(r, *layout, p, errors);
    } else if (!t->contains("kind")) {
        errors.add(p.where, policer_label(p) +
                                ": needs kind = \"srtcm\", \"trtcm\", \"rfc4115\" or \"shaper\"");
    }
    for (std::string_view key : {"cir", "pir", "eir", "rate", "cbs", "ebs", "pbs", "queue"}) {
        const toml::node* k = t->get(key);
        if (k != nullptr && layout != nullptr &&
            std::find(layout->rates.begin(), layout->rates.end(), key) == layout->rates.end() &&
            std::find(layout->bursts.begin(), layout->bursts.end(), key) == layout->bursts.end()) {
            std::string keys;
            for (auto list : {layout->rates, layout->bursts}) {
                for (auto name : list) {
                    keys += name.empty() ? "" : (keys.empty() ? "" : ", ") + std::string(name);
                }
            }
            errors.add(position_of(*k), r.full(key) + ": not a key of kind \"" +
                                            std::string(layout->kind) + "\" (it takes " + keys +
                                            ")");
        }
        r.node(key);
    }
    const bool shaper = p.kind == policer_kind::shaper;
    const bool counts_bytes = p.unit == traffic_unit::bytes ||
                              (shaper && p.queue_unit == traffic_unit::bytes);
    if (auto length = r.string("length", {"l1", "l2", "l3"})) {
        p.length = *length == "l1" ? length_mode::l1
                   : *length == "l2" ? length_mode::l2
                                     : length_mode::l3;
        if (layout != nullptr && !counts_bytes) {
            errors.add(position_of(*t->get("length")),
                       "policer.length: this policer counts packets, not lengths");
        }
    }
    for (std::string_view key : {"color_aware", "green", "yellow", "red"}) {
        if (const toml::node* k = t->get(key); k != nullptr && shaper) {
            errors.add(position_of(*k), r.full(key) + ": a shaper has no colours (what overflows "
                                                      "its queue is dropped)");
        }
    }
    r.boolean("color_aware", p.color_aware);
    for (auto [key, out] : {std::pair{"green", &p.green}, std::pair{"yellow", &p.yellow},
                            std::pair{"red", &p.red}}) {
        const auto text = r.string(key);
        const auto action = text ? color_action_value(*text) : std::nullopt;
        if (action) {
            *out = *action;
        } else if (text) {
            errors.add(position_of(*t->get(key)),
                       r.full(key) + ": expected \"transmit\", \"drop\" or \"remark:DSCP\" (DSCP "
                                     "0..63 or a name: be, cs0..cs7, af11..af43, ef, va, le), got \"" +
                           *text + "\"");
        }
    }
    if (auto scope = r.string("scope", {"aggregate", "per-source", "per-flow"})) {
        p.scope = *scope == "per-source" ? policer_scope::per_source
                  : *scope == "per-flow" ? policer_scope::per_flow
                                         : policer_scope::aggregate;
        if (shaper && p.scope != policer_scope::aggregate) {
            errors.add(position_of(*t->get("scope")),
                       "policer.scope: a shaper is one queue: scope = \"aggregate\" only");
        }
    }
    auto needs_scope = [&](std::string_view key, bool ok, std::string_view scopes) {
        if (const toml::node* k = t->get(key); k != nullptr && !ok) {
            errors.add(position_of(*k), r.full(key) + ": only with scope = " + std::string(scopes));
        }
    };
    const bool per_source = p.scope == policer_scope::per_source;
    const bool keyed = per_source || p.scope == policer_scope::per_flow;
    r.integer("prefix_v4", p.prefix_v4, 1, 32);
    r.integer("prefix_v6", p.prefix_v6, 1, 128);
    r.integer("max_keys", p.max_keys, 1, 1 << 24);
    r.integer("idle_timeout", p.idle_timeout, 1, 86400);
    r.integer("top_sources", p.top_sources, 0, 64);
    needs_scope("prefix_v4", per_source, "\"per-source\"");
    needs_scope("prefix_v6", per_source, "\"per-source\"");
    needs_scope("top_sources", per_source, "\"per-source\"");
    needs_scope("max_keys", keyed, "\"per-source\" or \"per-flow\"");
    needs_scope("idle_timeout", keyed, "\"per-source\" or \"per-flow\"");
    r.finish();
    if (errors.size() == before) {
        c.policers.push_back(std::move(p));
    }
}

void read_policers(table_reader& top, app_config& c, error_sink& errors) {
    const toml::array* a = top.array("policer");
    if (a == nullptr) {
        return;
    }
    std::map<std::string, source_position> names;
    for (const toml::node& n : *a) {
        read_policer(n, names, c, errors);
    }
}

// ---- [flow] -----------------------------------------------------------------------------

// "127.0.0.1:4739", "[2001:db8::1]:4739" -> host and port; false otherwise.
bool split_host_port(const std::string& text, std::string& host, uint16_t& port) {
    std::string_view rest;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return false;
        }
        host = text.substr(1, close - 1);
        rest = std::string_view(text).substr(close + 2);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
            return false;
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            return false;
        }
        host = text.substr(0, colon);
        rest = std::string_view(text).substr(colon + 1);
        in_addr a4{};
        if (::inet_pton(AF_INET, host.c_str(), &a4) != 1) {
            return false;
        }
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc{} || end != rest.data() + rest.size() || value == 0 || value > 65535) {
        return false;
    }
    port = static_cast<uint16_t>(value);
    return true;
}

void read_flow_collector(const toml::node& n, flow_config& f, error_sink& errors) {
    const toml::table* t = n.as_table();
    if (t == nullptr) {
        errors.add(position_of(n), "flow.collector: expected [[flow.collector]] tables");
        return;
    }
    table_reader r(*t, "flow.collector", errors);
    flow_collector_config c;
    c.where = position_of(n);
    if (const toml::node* a = r.node("address")) {
        const auto text = a->value_exact<std::string>();
        if (!text || !split_host_port(*text, c.host, c.port)) {
            errors.add(position_of(*a),
                       "flow.collector.address: expected \"IPV4:PORT\" or \"[IPV6]:PORT\" with a "
                       "numeric address, e.g. \"127.0.0.1:4739\"");
        }
    } else {
        errors.add(c.where, "flow.collector: every [[flow.collector]] needs address = \"HOST:PORT\"");
    }
    if (auto p = r.string("protocol", {"ipfix", "netflow-v9", "netflow-v5"})) {
        c.protocol = *p == "netflow-v9"   ? flow_protocol::netflow_v9
                     : *p == "netflow-v5" ? flow_protocol::netflow_v5
                                          : flow_protocol::ipfix;
    }
    if (const toml::node* tr = r.node("transport")) {
        const auto text = tr->value_exact<std::string>();
        if (!text || *text != "udp") {
            errors.add(position_of(*tr), "flow.collector.transport: only \"udp\" is supported "
                                         "(export over TCP or SCTP is not built)");
        }
    }
    r.finish();
    for (const auto& other : f.collectors) {
        if (other.host == c.host && other.port == c.port && !c.host.empty()) {
            errors.add(c.where, "flow.collector: " + c.host + ":" + std::to_string(c.port) +
                                    " is already the collector at line " +
                                    std::to_string(other.where.line));
        }
    }
    f.collectors.push_back(std::move(c));
}

void read_flow(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("flow");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "flow", errors);
    flow_config f;
    r.integer("max_flows", f.max_flows, 1024, 1 << 26);
    r.integer("inactive_timeout", f.inactive_timeout, 1, 86400);
    r.integer("active_timeout", f.active_timeout, 1, 7 * 86400);
    r.integer("fin_linger_ms", f.fin_linger_ms, 0, 600'000);
    if (auto p = r.string("packets", {"forwarded", "received"})) {
        f.packets = *p == "received" ? flow_packets::received : flow_packets::forwarded;
    }
    r.integer("sampling", f.sampling, 1, 1 << 24);
    if (auto m = r.string("sampling_mode", {"deterministic", "random"})) {
        f.sampling_random = *m == "random";
    }
    r.integer("ring_size", f.ring_size, 64, 1 << 22);
    if (const toml::node* n = t->get("ring_size"); n && !is_power_of_two(f.ring_size)) {
        errors.add(position_of(*n),
                   "flow.ring_size: expected a power of two, got " + std::to_string(f.ring_size));
    }
    r.integer("domain_id", f.domain_id, 0, UINT32_MAX);
    r.integer("mtu", f.mtu, 512, 65000);
    r.integer("template_refresh", f.template_refresh, 1, 86400);
    r.integer("top", f.top, 0, 100);
    if (const toml::array* a = r.array("collector")) {
        for (const toml::node& n : *a) {
            read_flow_collector(n, f, errors);
        }
    }
    r.finish();
    c.flow = std::move(f);
}

// ---- [log] ------------------------------------------------------------------------------

// level = "LEVEL" for every component, then COMPONENT = "LEVEL" for one.
void read_log(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("log");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "log", errors);
    std::optional<log_setting> all;
    std::vector<log_setting> each;
    for (const auto& [key, value] : *t) {
        const std::string k(key.str());
        const auto text = value.value_exact<std::string>();
        std::string error;
        const auto setting =
            text ? parse_log_setting(k == "level" ? *text : k + ":" + *text, error) : std::nullopt;
        if (!text) {
            error = "expected a level string, e.g. \"debug\"";
        }
        if (!setting) {
            // An unknown key says so (finish()); a known one names the level.
            if (k == "level" || error.rfind("unknown log component", 0) != 0) {
                r.node(k);
                errors.add(position_of(value), "log." + k + ": " + error);
            }
            continue;
        }
        r.node(k);
        if (k == "level") {
            all = setting;
        } else {
            each.push_back(*setting);
        }
    }
    r.finish();
    if (all) {
        c.log.push_back(*all);
    }
    c.log.insert(c.log.end(), each.begin(), each.end());
}

void read_router(table_reader& top, app_config& c, error_sink& errors) {
    const toml::table* t = top.table("router");
    if (t == nullptr) {
        return;
    }
    table_reader r(*t, "router", errors);
    c.router.routes_file = r.string("routes_file");
    r.finish();
}

// Cross-checks that need the whole configuration.
void check_router(app_config& c, const toml::table& root, error_sink& errors) {
    auto& rt = c.router;
    auto where = [&](toml::node_view<const toml::node> n) {
        return n ? position_of(*n.node()) : source_position{};
    };
    if (c.mode == forwarding_mode::router && rt.interfaces.empty()) {
        errors.add(where(root["dataplane"]["mode"]),
                   "mode = \"router\" needs at least one [[interface]] with addresses");
    }
    if (c.mode != forwarding_mode::router && (!rt.routes.empty() || rt.routes_file)) {
        errors.add(where(root["route"][0] ? root["route"][0] : root["router"]["routes_file"]),
                   "routes are only used with dataplane.mode = \"router\"");
    }
    std::set<std::string> iface_ports;
    for (const auto& i : rt.interfaces) {
        iface_ports.insert(i.port);
    }
    if (!c.ports.empty()) {
        std::set<std::string> port_names;
        for (const auto& p : c.ports) {
            port_names.insert(p.name);
        }
        for (const auto& i : rt.interfaces) {
            if (!i.port.empty() && !port_names.contains(i.port)) {
                errors.add(i.where,
                           "interface: port '" + i.port + "' is not a configured [[port]]");
            }
        }
    }
    for (const auto& n : rt.neighbors) {
        if (!n.port.empty() && !iface_ports.contains(n.port)) {
            errors.add(n.where, "neighbor: port '" + n.port + "' has no [[interface]]");
        }
    }
}

}  // namespace

std::optional<uint8_t> parse_protocol_name(std::string_view name) {
    static constexpr std::pair<std::string_view, uint8_t> names[] = {
        {"icmp", 1}, {"tcp", 6},        {"udp", 17},    {"gre", 47},  {"esp", 50},
        {"ah", 51},  {"icmpv6", 58},    {"ipv6-icmp", 58}, {"sctp", 132}};
    for (const auto& [n, number] : names) {
        if (n == name) {
            return number;
        }
    }
    return std::nullopt;
}

std::optional<uint8_t> parse_dscp(std::string_view text) {
    std::string name(text);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    static constexpr std::pair<std::string_view, uint8_t> names[] = {
        {"be", 0}, {"default", 0}, {"le", 1}, {"ef", 46}, {"va", 44}};
    for (const auto& [n, dscp] : names) {
        if (n == name) {
            return dscp;
        }
    }
    // csN = 8 N; afXY = 8 X + 2 Y (RFC 2597: class X 1..4, drop precedence Y 1..3)
    if (name.size() == 3 && name.starts_with("cs") && name[2] >= '0' && name[2] <= '7') {
        return static_cast<uint8_t>(8 * (name[2] - '0'));
    }
    if (name.size() == 4 && name.starts_with("af") && name[2] >= '1' && name[2] <= '4' &&
        name[3] >= '1' && name[3] <= '3') {
        return static_cast<uint8_t>(8 * (name[2] - '0') + 2 * (name[3] - '0'));
    }
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (name.empty() || ec != std::errc() || end != name.data() + name.size() || v > 63) {
        return std::nullopt;
    }
    return static_cast<uint8_t>(v);
}

std::optional<uint8_t> parse_tcp_flag_list(std::string_view list) {
    static constexpr std::pair<std::string_view, uint8_t> names[] = {
        {"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08}, {"ACK", 0x10},
        {"URG", 0x20}, {"ECE", 0x40}, {"CWR", 0x80}, {"ALL", 0xff}, {"NONE", 0x00}};
    uint8_t out = 0;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        const auto* it = std::find_if(std::begin(names), std::end(names),
                                      [&](const auto& e) { return e.first == name; });
        if (it == std::end(names)) {
            return std::nullopt;
        }
        out |= it->second;
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return out;
}

std::optional<uint8_t> parse_ct_state(std::string_view name) {
    static constexpr std::pair<std::string_view, uint8_t> names[] = {
        {"new", ct_new},         {"established", ct_established}, {"related", ct_related},
        {"invalid", ct_invalid}, {"untracked", ct_untracked}};
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [n, bit] : names) {
        if (n == lower) {
            return bit;
        }
    }
    return std::nullopt;
}

std::optional<mac_address> parse_mac(std::string_view text) {
    mac_address mac{};
    if (text.size() != 17) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < 6; ++i) {
        const char* p = text.data() + i * 3;
        if (i < 5 && p[2] != ':') {
            return std::nullopt;
        }
        auto [end, ec] = std::from_chars(p, p + 2, mac[i], 16);
        if (ec != std::errc() || end != p + 2) {
            return std::nullopt;
        }
    }
    return mac;
}

std::string to_string(const mac_address& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

void parse_routes_text(std::string_view text, const std::string& source,
                       std::vector<route_config>& routes, std::vector<config_error>& errors) {
    for_each_line(text, [&](std::string_view line, uint32_t line_no) {
        line = without_comment(line);
        std::string_view words[6];
        std::size_t n = 0;
        std::size_t i = 0;
        bool too_many = false;
        while (i < line.size()) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
                ++i;
            }
            const std::size_t start = i;
            while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
                ++i;
            }
            if (i > start) {
                if (n == 6) {
                    too_many = true;
                    break;
                }
                words[n++] = line.substr(start, i - start);
            }
        }
        if (n == 0) {
            return;
        }
        auto fail = [&](const std::string& msg) { errors.push_back({source, {line_no, 1}, msg}); };
        if (too_many || n % 2 == 0) {
            fail("expected PREFIX [via ADDRESS] [dev PORT]");
            return;
        }
        std::string why;
        auto prefix = parse_ip_prefix(words[0], false, why);
        if (!prefix) {
            fail(why);
            return;
        }
        route_config rc;
        rc.prefix = *prefix;
        rc.origin = source + ":" + std::to_string(line_no) + ":1";
        bool ok = true;
        for (std::size_t w = 1; w + 1 < n + 1 && w < n; w += 2) {
            if (words[w] == "via") {
                rc.via = parse_ip_address(words[w + 1]);
                if (!rc.via) {
                    fail("'" + std::string(words[w + 1]) + "' is not an IPv4 or IPv6 address");
                    ok = false;
                }
            } else if (words[w] == "dev") {
                rc.port = std::string(words[w + 1]);
            } else {
                fail("unknown word '" + std::string(words[w]) + "' (expected via or dev)");
                ok = false;
            }
        }
        if (ok) {
            routes.push_back(std::move(rc));
        }
    });
}

void parse_exact_text(std::string_view text, const std::string& source, exact_config& exact,
                      std::vector<config_error>& errors) {
    exact.file_path = source;
    exact_index index(exact);
    for_each_line(text, [&](std::string_view line, uint32_t line_no) {
        line = without_comment(line);
        exact_entry e;
        exact_line_error why;
        const exact_line got = parse_exact_line(line, e, why);
        if (got == exact_line::error) {
            errors.push_back({source, {line_no, why.column}, "firewall.exact: " + why.message});
        } else if (got == exact_line::entry) {
            const auto first = line.find_first_not_of(" \t\r");
            e.where = {line_no, static_cast<uint32_t>(first + 1)};
            e.in_file = true;
            const source_position where = e.where;
            if (auto conflict = index.add(exact, std::move(e))) {
                errors.push_back({source, where, "firewall.exact: " + *conflict});
            }
        }
    });
}

config_result parse_config(std::string_view text, std::string_view source) {
    config_result result;
    result.config.source = std::string(source);
    error_sink errors{std::string(source)};
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        errors.add(source_position{static_cast<uint32_t>(e.source().begin.line),
                                   static_cast<uint32_t>(e.source().begin.column)},
                   std::string(e.description()));
        result.errors = errors.take();
        return result;
    }
    table_reader top(root, "", errors);
    read_dataplane(top, result.config, errors);
    read_pipeline(top, result.config, errors);
    read_mempool(top, result.config, errors);
    read_ports(top, result.config, errors);
    read_interfaces(top, result.config, errors);
    read_routes(top, result.config, errors);
    read_neighbors(top, result.config, errors);
    read_router(top, result.config, errors);
    read_responder(top, result.config, errors);
    read_firewall(top, result.config, errors);
    read_policers(top, result.config, errors);
    read_flow(top, result.config, errors);
    read_log(top, result.config, errors);
    top.finish();
    check_router(result.config, root, errors);
    result.errors = errors.take();
    return result;
}

config_result load_config_file(const std::string& path) {
    std::error_code ec;
    std::ifstream in(path, std::ios::binary);
    if (!in || std::filesystem::is_directory(path, ec)) {
        config_result r;
        r.errors.push_back({path, {}, "cannot read the configuration file"});
        return r;
    }
    std::ostringstream text;
    text << in.rdbuf();
    config_result r = parse_config(text.str(), path);
    if (r.config.router.routes_file) {
        std::filesystem::path file(*r.config.router.routes_file);
        if (file.is_relative()) {
            file = std::filesystem::path(path).parent_path() / file;
        }
        std::ifstream routes(file, std::ios::binary);
        if (!routes || std::filesystem::is_directory(file, ec)) {
            r.errors.push_back(
                {path, {}, "router.routes_file: cannot read '" + file.string() + "'"});
        } else {
            std::ostringstream rtext;
            rtext << routes.rdbuf();
            parse_routes_text(rtext.str(), file.string(), r.config.router.routes, r.errors);
        }
    }
    if (r.config.firewall && r.config.firewall->rules_file_iptables) {
        firewall_config& fw = *r.config.firewall;
        std::filesystem::path file(*fw.rules_file_iptables);
        if (file.is_relative()) {
            file = std::filesystem::path(path).parent_path() / file;
        }
        std::ifstream rules(file, std::ios::binary);
        if (!rules || std::filesystem::is_directory(file, ec)) {
            r.errors.push_back({path, fw.where,
                                "firewall.rules_file_iptables: cannot read '" + file.string() + "'"});
        } else {
            std::ostringstream rtext;
            rtext << rules.rdbuf();
            std::optional<firewall_action> chain_policy;
            parse_iptables_save(rtext.str(), file.string(), fw, chain_policy, r.errors);
            if (!fw.default_set && chain_policy) {
                fw.default_action = *chain_policy;
            } else if (!fw.default_set && !fw.rules.empty()) {
                r.errors.push_back({path, fw.where,
                                    "firewall: a rule list needs default = \"accept\" or "
                                    "\"drop\" (or a :FORWARD policy in the rules file)"});
            }
        }
    }
    if (r.config.firewall && r.config.firewall->exact && r.config.firewall->exact->file) {
        exact_config& x = *r.config.firewall->exact;
        std::filesystem::path file(*x.file);
        if (file.is_relative()) {
            file = std::filesystem::path(path).parent_path() / file;
        }
        std::ifstream entries(file, std::ios::binary);
        if (!entries || std::filesystem::is_directory(file, ec)) {
            r.errors.push_back(
                {path, x.file_where, "firewall.exact.file: cannot read '" + file.string() + "'"});
        } else {
            std::ostringstream etext;
            etext << entries.rdbuf();
            parse_exact_text(etext.str(), file.string(), x, r.errors);
        }
    }
    return r;
}

}  // namespace dpdk_app
