#include "config/config.hpp"

#include <algorithm>
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

std::vector<std::string> stage_chain(forwarding_mode mode) {
    switch (mode) {
        case forwarding_mode::bridge:
            return {"rx", "bridge", "tx"};
    }
    return {};
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
    if (auto mode = r.string("mode", {"bridge"})) {
        c.mode = forwarding_mode::bridge;
    }
    r.integer("lanes", c.lanes, 1, 64);
    r.integer("burst_size", c.burst_size, 1, 64);
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
    r.integer("lcores_per_lane", c.lcores_per_lane, 0, 16);
    if (const toml::array* a = r.array("placement")) {
        const auto chain = stage_chain(c.mode);
        std::vector<std::string> flat;
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
                flat.push_back(*name);
            }
            c.placement.push_back(std::move(names));
        }
        if (shape_ok && flat != chain) {
            std::string want;
            for (const auto& s : chain) {
                want += (want.empty() ? "" : ", ") + s;
            }
            errors.add(
                position_of(*a),
                "pipeline.placement: the groups must list the stages of this mode in order (" +
                    want + "), each exactly once");
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

}  // namespace

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
    top.finish();
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
    return parse_config(text.str(), path);
}

}  // namespace dpdk_app
