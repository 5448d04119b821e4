#include "config/iptables.hpp"

#include "config/lines.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace dpdk_app {

namespace {

struct token {
    std::string text;
    uint32_t column;  // 1-based
};

// Splits a line on blanks; "double quoted" words (iptables-save quotes
// comments) keep their blanks, \" inside them is a quote.
bool tokenize(std::string_view line, std::vector<token>& out, std::string& why) {
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        if (i == line.size()) {
            break;
        }
        token t;
        t.column = static_cast<uint32_t>(i + 1);
        if (line[i] == '"') {
            ++i;
            while (i < line.size() && line[i] != '"') {
                if (line[i] == '\\' && i + 1 < line.size()) {
                    ++i;
                }
                t.text += line[i++];
            }
            if (i == line.size()) {
                why = "unterminated quoted string";
                return false;
            }
            ++i;
        } else {
            while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
                t.text += line[i++];
            }
        }
        out.push_back(std::move(t));
    }
    return true;
}

std::optional<unsigned> number(std::string_view s, unsigned max) {
    unsigned v = 0;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size() || v > max) {
        return std::nullopt;
    }
    return v;
}

// "80", "1024:65535", ":1023", "1024:"
std::optional<port_range> ipt_port_range(std::string_view s) {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos) {
        const auto v = number(s, 65535);
        return v ? std::optional<port_range>(port_range{static_cast<uint16_t>(*v),
                                                         static_cast<uint16_t>(*v)})
                 : std::nullopt;
    }
    const auto lo = colon == 0 ? std::optional<unsigned>(0) : number(s.substr(0, colon), 65535);
    const auto hi = colon + 1 == s.size() ? std::optional<unsigned>(65535)
                                          : number(s.substr(colon + 1), 65535);
    if (!lo || !hi || *lo > *hi) {
        return std::nullopt;
    }
    return port_range{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

// ICMP types by iptables' names (iptables -p icmp -h), "TYPE" or "TYPE/CODE".
bool icmp_type_of(std::string_view s, bool v6, uint8_t& type, std::optional<uint8_t>& code) {
    struct named {
        std::string_view name;
        uint8_t type;
        int code;  // -1: any
    };
    static constexpr named v4[] = {
        {"echo-reply", 0, -1},          {"destination-unreachable", 3, -1},
        {"network-unreachable", 3, 0},  {"host-unreachable", 3, 1},
        {"protocol-unreachable", 3, 2}, {"port-unreachable", 3, 3},
        {"fragmentation-needed", 3, 4}, {"redirect", 5, -1},
        {"echo-request", 8, -1},        {"router-advertisement", 9, -1},
        {"router-solicitation", 10, -1}, {"time-exceeded", 11, -1},
        {"ttl-zero-during-transit", 11, 0}, {"parameter-problem", 12, -1},
        {"timestamp-request", 13, -1},  {"timestamp-reply", 14, -1}};
    static constexpr named v6n[] = {
        {"destination-unreachable", 1, -1}, {"no-route", 1, 0},
        {"packet-too-big", 2, -1},          {"time-exceeded", 3, -1},
        {"parameter-problem", 4, -1},       {"echo-request", 128, -1},
        {"echo-reply", 129, -1},            {"router-solicitation", 133, -1},
        {"router-advertisement", 134, -1},  {"neighbour-solicitation", 135, -1},
        {"neighbor-solicitation", 135, -1}, {"neighbour-advertisement", 136, -1},
        {"neighbor-advertisement", 136, -1}};
    const auto slash = s.find('/');
    if (slash != std::string_view::npos) {
        const auto t = number(s.substr(0, slash), 255);
        const auto c = number(s.substr(slash + 1), 255);
        if (!t || !c) {
            return false;
        }
        type = static_cast<uint8_t>(*t);
        code = static_cast<uint8_t>(*c);
        return true;
    }
    if (const auto t = number(s, 255)) {
        type = static_cast<uint8_t>(*t);
        return true;
    }
    const named* begin = v6 ? std::begin(v6n) : std::begin(v4);
    const named* end = v6 ? std::end(v6n) : std::end(v4);
    const auto* it = std::find_if(begin, end, [&](const named& n) { return n.name == s; });
    if (it == end) {
        return false;
    }
    type = it->type;
    if (it->code >= 0) {
        code = static_cast<uint8_t>(it->code);
    }
    return true;
}

class rule_reader {
  public:
    rule_reader(const std::vector<token>& t, const std::string& source, uint32_t line,
                std::vector<config_error>& errors)
        : t_(t), source_(source), line_(line), errors_(errors) {}

    // Parses the tokens after "-A FORWARD" into rules (a multiport match
    // makes one rule per port or range). Returns false after an error.
    bool read(std::size_t from, std::vector<firewall_rule>& out) {
        firewall_rule r;
        r.where = {line_, t_[0].column};
        r.source = source_;
        std::vector<port_range> sports;
        std::vector<port_range> dports;
        bool have_target = false;
        for (std::size_t i = from; i < t_.size(); ++i) {
            const std::string& o = t_[i].text;
            auto arg = [&]() -> const token* {
                if (i + 1 >= t_.size() || t_[i + 1].text.rfind("-", 0) == 0) {
                    fail(t_[i], o + " needs a value");
                    return nullptr;
                }
                return &t_[++i];
            };
            if (o == "!") {
                return fail(t_[i], "negation ('!') does not map onto a firewall rule");
            }
            if (o == "-s" || o == "--source" || o == "-d" || o == "--destination") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                std::string text = v->text;
                if (text.find('/') == std::string::npos) {
                    text += text.find(':') != std::string::npos ? "/128" : "/32";
                }
                std::string why;
                auto p = parse_ip_prefix(text, false, why);
                if (!p) {
                    return fail(*v, o + ": " + why);
                }
                (o[1] == 's' || o == "--source" ? r.src : r.dst) = p;
                if (r.v6 && *r.v6 != p->address.v6) {
                    return fail(*v, o + ": source and destination of different address families");
                }
                r.v6 = p->address.v6;
            } else if (o == "-i" || o == "--in-interface") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                r.in_port = v->text;
            } else if (o == "-p" || o == "--protocol") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                if (const auto named = parse_protocol_name(v->text)) {
                    r.proto = *named;
                } else if (const auto n = number(v->text, 255)) {
                    r.proto = static_cast<uint8_t>(*n);
                } else {
                    return fail(*v, "-p: unknown protocol '" + v->text + "'");
                }
            } else if (o == "-m" || o == "--match") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                static constexpr std::string_view modules[] = {
                    "tcp",  "udp",     "sctp",      "icmp", "icmp6",
                    "multiport", "dscp", "comment", "conntrack", "state"};
                if (std::find(std::begin(modules), std::end(modules), v->text) ==
                    std::end(modules)) {
                    return fail(*v, "-m " + v->text + ": this match does not map onto a firewall rule");
                }
            } else if (o == "--sport" || o == "--source-port" || o == "--dport" ||
                       o == "--destination-port") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                const auto range = ipt_port_range(v->text);
                if (!range) {
                    return fail(*v, o + ": expected PORT or FIRST:LAST");
                }
                (o == "--sport" || o == "--source-port" ? sports : dports) = {*range};
            } else if (o == "--sports" || o == "--dports" || o == "--ports") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                if (o == "--ports") {
                    return fail(t_[i - 1], "--ports (source or destination) does not map onto one rule");
                }
                std::vector<port_range> list;
                std::string_view s = v->text;
                while (!s.empty()) {
                    const auto comma = s.find(',');
                    const auto range = ipt_port_range(s.substr(0, comma));
                    if (!range) {
                        return fail(*v, o + ": expected PORT[,PORT|,FIRST:LAST]...");
                    }
                    list.push_back(*range);
                    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
                }
                (o == "--sports" ? sports : dports) = list;
            } else if (o == "--icmp-type" || o == "--icmpv6-type") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                uint8_t type = 0;
                std::optional<uint8_t> code;
                if (!icmp_type_of(v->text, o == "--icmpv6-type", type, code)) {
                    return fail(*v, o + ": unknown ICMP type '" + v->text + "'");
                }
                r.icmp_type = type;
                r.icmp_code = code;
            } else if (o == "--ctstate" || o == "--state") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                uint8_t bits = 0;
                std::string_view s = v->text;
                while (!s.empty()) {
                    const auto comma = s.find(',');
                    const auto bit = parse_ct_state(s.substr(0, comma));
                    if (!bit) {
                        return fail(*v, o + ": expected STATE[,STATE]... of NEW, ESTABLISHED, "
                                            "RELATED, INVALID, UNTRACKED");
                    }
                    bits |= *bit;
                    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
                }
                r.state = bits;
            } else if (o == "--tcp-flags") {
                if (i + 2 >= t_.size()) {
                    return fail(t_[i], "--tcp-flags needs MASK and COMP");
                }
                const auto mask = parse_tcp_flag_list(t_[i + 1].text);
                const auto comp = parse_tcp_flag_list(t_[i + 2].text);
                if (!mask || !comp || *mask == 0 || (*comp & ~*mask) != 0) {
                    return fail(t_[i + 1], "--tcp-flags: expected MASK COMP, e.g. SYN,RST,ACK,FIN SYN");
                }
                r.tcp_flags = *comp;
                r.tcp_flags_mask = *mask;
                i += 2;
            } else if (o == "--syn") {
                r.tcp_flags = 0x02;
                r.tcp_flags_mask = 0x17;
            } else if (o == "--dscp") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                const auto d = number(v->text, 63);
                if (!d) {
                    return fail(*v, "--dscp: expected 0..63 (decimal or 0x hex)");
                }
                r.dscp = static_cast<uint8_t>(*d);
            } else if (o == "--comment") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                r.comment = v->text;
            } else if (o == "-f" || o == "--fragment") {
                r.fragment = fragment_match::non_first;
            } else if (o == "-j" || o == "--jump") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                if (v->text == "ACCEPT") {
                    r.action = firewall_action::accept;
                } else if (v->text == "DROP") {
                    r.action = firewall_action::drop;
                } else if (v->text == "REJECT") {
                    r.action = firewall_action::reject;
                } else {
                    return fail(*v, "-j " + v->text + ": only ACCEPT, DROP and REJECT map");
                }
                have_target = true;
            } else if (o == "--reject-with") {
                const token* v = arg();
                if (v == nullptr) {
                    return false;
                }
                static constexpr std::string_view ours[] = {
                    "tcp-reset", "icmp-admin-prohibited", "icmp-adm-prohibited",
                    "icmp6-adm-prohibited", "adm-prohibited"};
                if (std::find(std::begin(ours), std::end(ours), v->text) == std::end(ours)) {
                    return fail(*v, "--reject-with " + v->text +
                                        ": the appliance rejects TCP with a RST and the rest "
                                        "with administratively prohibited; use tcp-reset or "
                                        "icmp-admin-prohibited");
                }
            } else {
                return fail(t_[i], "option '" + o + "' does not map onto a firewall rule");
            }
        }
        if (!have_target) {
            return fail(t_[0], "a rule without -j ACCEPT, DROP or REJECT");
        }
        if (r.proto && (*r.proto == 1 || *r.proto == 58)) {
            const bool v6 = *r.proto == 58;
            if (r.v6 && *r.v6 != v6) {
                return fail(t_[0], "-p icmp with IPv6 addresses, or ipv6-icmp with IPv4");
            }
            r.v6 = v6;
        } else if (r.icmp_type) {
            return fail(t_[0], "--icmp-type needs -p icmp (or ipv6-icmp)");
        }
        const bool l4 = r.proto && (*r.proto == 6 || *r.proto == 17 || *r.proto == 132);
        if ((!sports.empty() || !dports.empty()) && !l4) {
            return fail(t_[0], "ports need -p tcp, udp or sctp");
        }
        if (r.tcp_flags_mask != 0 && (!r.proto || *r.proto != 6)) {
            return fail(t_[0], "--tcp-flags / --syn need -p tcp");
        }
        if (sports.empty()) {
            sports.push_back({});
        }
        if (dports.empty()) {
            dports.push_back({});
        }
        const bool any_s = sports.size() == 1 && sports[0] == port_range{};
        const bool any_d = dports.size() == 1 && dports[0] == port_range{};
        for (const auto& s : sports) {
            for (const auto& d : dports) {
                firewall_rule x = r;
                if (!any_s) {
                    x.sport = s;
                }
                if (!any_d) {
                    x.dport = d;
                }
                out.push_back(std::move(x));
            }
        }
        return true;
    }

  private:
    bool fail(const token& at, const std::string& message) {
        errors_.push_back({source_, {line_, at.column}, message});
        return false;
    }

    const std::vector<token>& t_;
    const std::string& source_;
    uint32_t line_;
    std::vector<config_error>& errors_;
};

}  // namespace

void parse_iptables_save(std::string_view text, const std::string& source, firewall_config& fw,
                         std::optional<firewall_action>& policy,
                         std::vector<config_error>& errors) {
    std::string table;
    bool committed = true;
    const uint32_t lines = for_each_line(text, [&](std::string_view line, uint32_t line_no) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        std::vector<token> t;
        std::string why;
        if (!tokenize(line, t, why)) {
            errors.push_back({source, {line_no, 1}, why});
            return;
        }
        if (t.empty() || t[0].text[0] == '#') {
            return;
        }
        auto fail = [&](const token& at, std::string message) {
            errors.push_back({source, {line_no, at.column}, std::move(message)});
        };
        const std::string& first = t[0].text;
        if (first[0] == '*') {
            table = first.substr(1);
            committed = false;
            if (table != "filter") {
                fail(t[0], "table '" + table + "': only the *filter table maps onto the firewall");
            }
        } else if (first == "COMMIT") {
            committed = true;
        } else if (table != "filter") {
            if (table.empty()) {
                fail(t[0], "a line before '*filter'");
            }
        } else if (first[0] == ':') {
            const std::string chain = first.substr(1);
            if (chain != "INPUT" && chain != "FORWARD" && chain != "OUTPUT") {
                fail(t[0], "user-defined chain '" + chain + "' does not map onto the firewall");
            } else if (chain == "FORWARD") {
                if (t.size() < 2 || (t[1].text != "ACCEPT" && t[1].text != "DROP")) {
                    fail(t.size() < 2 ? t[0] : t[1], "the FORWARD policy must be ACCEPT or DROP");
                } else {
                    policy = t[1].text == "DROP" ? firewall_action::drop : firewall_action::accept;
                }
            }
        } else if (first == "-A" || first == "--append") {
            if (t.size() < 2) {
                fail(t[0], "-A needs a chain");
            } else if (t[1].text != "FORWARD") {
                fail(t[1], "chain " + t[1].text +
                               ": only FORWARD maps onto the appliance's firewall (it filters "
                               "what passes through, not what it receives itself)");
            } else {
                rule_reader(t, source, line_no, errors).read(2, fw.rules);
            }
        } else {
            fail(t[0], "'" + first + "' does not map onto the firewall (iptables-save output "
                                     "has *table, :chain, -A and COMMIT lines)");
        }
    });
    if (!committed) {
        errors.push_back({source, {lines, 1}, "the *" + table + " table has no COMMIT"});
    }
}

}  // namespace dpdk_app
