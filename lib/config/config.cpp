#include "config/config.hpp"

#include "config/iptables.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

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
        errors.add(position_of(*police),
                   "firewall.rule.police: policers are not available yet (a later release "
                   "adds [[policer]]); remove the key");
    }
    if (const toml::node* state = r.node("state")) {
        errors.add(position_of(*state),
                   "firewall.rule.state: connection tracking is not available yet; remove the key");
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
    r.finish();
    if (errors.size() == before) {
        fw.rules.push_back(std::move(rule));
    }
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
    std::size_t pos = 0;
    uint32_t line_no = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (auto hash = line.find('#'); hash != std::string_view::npos) {
            line = line.substr(0, hash);
        }
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
            continue;
        }
        auto fail = [&](const std::string& msg) { errors.push_back({source, {line_no, 1}, msg}); };
        if (too_many || n % 2 == 0) {
            fail("expected PREFIX [via ADDRESS] [dev PORT]");
            continue;
        }
        std::string why;
        auto prefix = parse_ip_prefix(words[0], false, why);
        if (!prefix) {
            fail(why);
            continue;
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
    }
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
    return r;
}

}  // namespace dpdk_app
