#include "ctl/report.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <rte_ethdev.h>

#include "config/options.hpp"
#include "ctl/json.hpp"
#include "pipeline/generation.hpp"

namespace dpdk_app {

namespace {

void flow_rows(json_writer& j, std::string_view key, const std::vector<flow_top_report>& rows) {
    j.key(key).begin_array();
    for (const auto& f : rows) {
        j.begin_object()
            .field("ip_version", unsigned{f.ip_version})
            .field("src", f.src)
            .field("dst", f.dst)
            .field("proto", unsigned{f.proto})
            .field("sport", unsigned{f.sport})
            .field("dport", unsigned{f.dport})
            .field("in_port", unsigned{f.in_port});
        if (f.out_port != no_port) {
            j.field("out_port", unsigned{f.out_port});
        }
        j.field("vlan", unsigned{f.vlan})
            .field("lane", f.lane)
            .field("packets", f.packets)
            .field("bytes", f.octets)
            .end_object();
    }
    j.end_array();
}

// "flows": the ledger (created = exported + queued + lost + live), what
// accounting passed over, each collector, the largest flows.
void flows_json(json_writer& j, const flow_report& f) {
    j.key("flows").begin_object();
    j.field("lanes", f.lanes)
        .field("max_flows", f.max_flows)
        .field("created", f.created)
        .field("exported", f.exported)
        .field("queued", f.queued)
        .field("lost", f.lost)
        .field("live", f.live)
        .field("evicted", f.evicted)
        .field("table_full", f.table_full)
        .field("active_reports", f.active_reports)
        .field("active_reports_lost", f.active_reports_lost)
        .field("sampled_out", f.sampled_out);
    j.key("collectors").begin_array();
    for (const auto& c : f.collectors) {
        j.begin_object()
            .field("address", c.address)
            .field("protocol", c.protocol)
            .field("messages", c.messages)
            .field("records", c.records)
            .field("skipped", c.skipped)
            .field("errors", c.errors)
            .field("last_error", c.last_error)
            .end_object();
    }
    j.end_array();
    j.key("top").begin_object();
    j.field("age_seconds", f.top_age_s);
    flow_rows(j, "by_bytes", f.top_octets);
    flow_rows(j, "by_packets", f.top_packets);
    j.end_object();
    j.end_object();
}

}  // namespace

std::string to_json(const run_report& r) {
    const pipeline_stats& p = r.pipe;
    json_writer j;
    j.begin_object();
    j.field("mode", r.mode).field("seconds", r.seconds).field("final", r.final);
    j.key("config").begin_object();
    j.field("generation", r.config.number)
        .field("reloads", r.config.reloads)
        .field("reload_failures", r.config.reload_failures)
        .field("routes4", r.config.routes4)
        .field("routes6", r.config.routes6)
        .field("generations_alive", r.generations_alive);
    j.end_object();
    j.key("totals").begin_object();
    j.field("rx", p.rx)
        .field("forwarded", p.forwarded)
        .field("dropped", p.dropped())
        .field("consumed", p.consumed)
        .field("generated", p.generated)
        .field("generated_sent", p.generated_sent)
        .field("generated_dropped", p.generated_dropped)
        .field("in_flight", p.in_flight);
    j.end_object();
    j.key("responder").begin_object();
    for (std::size_t i = 0; i < event_count; ++i) {
        j.field(event_names[i], p.events[i]);
    }
    j.end_object();
    j.key("drops").begin_object();
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        j.field(drop_reason_names[i], p.drops[i]);
    }
    j.end_object();
    j.key("ports").begin_array();
    for (const auto& port : r.ports) {
        j.begin_object()
            .field("id", unsigned{port.id})
            .field("name", port.name)
            .field("peer", unsigned{port.peer})
            .field("rx", port.rx)
            .field("tx", port.tx)
            .field("rx_polls", port.rx_polls)
            .field("ipackets", port.ipackets)
            .field("opackets", port.opackets)
            .field("ibytes", port.ibytes)
            .field("obytes", port.obytes)
            .field("imissed", port.imissed)
            .field("ierrors", port.ierrors)
            .field("oerrors", port.oerrors)
            .field("rx_nombuf", port.rx_nombuf)
            .end_object();
    }
    j.end_array();
    j.key("stages").begin_array();
    for (const auto& s : p.stages) {
        j.begin_object()
            .field("name", s.name)
            .field("lane", s.lane)
            .field("lcore", s.lcore)
            .field("packets_in", s.packets_in)
            .field("packets_out", s.packets_out)
            .field("bursts", s.bursts)
            .field("cycles", s.cycles)
            .field("sampled_packets", s.sampled_packets)
            .field("cycles_per_packet",
                   s.sampled_packets > 0
                       ? static_cast<double>(s.cycles) / static_cast<double>(s.sampled_packets)
                       : 0.0)
            .end_object();
    }
    j.end_array();
    if (!r.firewall.empty()) {
        auto action = [](firewall_action a) {
            return a == firewall_action::drop     ? "drop"
                   : a == firewall_action::reject ? "reject"
                   : a == firewall_action::count  ? "count"
                                                  : "accept";
        };
        j.key("firewall").begin_object();
        j.key("rules").begin_array();
        for (const auto& rule : r.firewall) {
            if (!rule.is_default) {
                j.begin_object()
                    .field("id", rule.id)
                    .field("comment", rule.comment)
                    .field("action", std::string(action(rule.action)))
                    .field("packets", rule.packets)
                    .field("bytes", rule.bytes)
                    .end_object();
            }
        }
        j.end_array();
        const auto& d = r.firewall.back();
        j.key("default").begin_object();
        j.field("action", std::string(action(d.action)))
            .field("packets", d.packets)
            .field("bytes", d.bytes);
        j.end_object();
        if (r.exact) {
            j.key("exact").begin_object();
            j.field("entries", r.exact->entries)
                .field("memory_bytes", r.exact->memory_bytes)
                .field("accept_packets", r.exact->hits.accept_packets)
                .field("accept_bytes", r.exact->hits.accept_bytes)
                .field("drop_packets", r.exact->hits.drop_packets)
                .field("drop_bytes", r.exact->hits.drop_bytes);
            j.end_object();
        }
        if (const firewall_config* fw = r.firewall_setup; fw != nullptr && fw->tracks_connections()) {
            const uint64_t created = p.events[static_cast<std::size_t>(event::connections_created)];
            const uint64_t expired = p.events[static_cast<std::size_t>(event::connections_expired)];
            j.key("conntrack").begin_object();
            j.field("capacity_per_lane", uint64_t{fw->conntrack.capacity})
                .field("connections", created - std::min(created, expired))
                .field("created", created)
                .field("expired", expired)
                .field("invalid_dropped",
                       p.drops[static_cast<std::size_t>(drop_reason::conntrack_invalid)])
                .field("full_dropped",
                       p.drops[static_cast<std::size_t>(drop_reason::conntrack_full)]);
            j.end_object();
        }
        j.end_object();
    }
    if (!r.policers.empty()) {
        static constexpr std::array<const char*, 3> colors = {"green", "yellow", "red"};
        j.key("policers").begin_array();
        for (const auto& pol : r.policers) {
            j.begin_object()
                .field("name", pol.name)
                .field("kind", std::string(name_of(pol.kind)))
                .field("scope", std::string(name_of(pol.scope)));
            for (std::size_t c = 0; c < colors.size(); ++c) {
                j.key(colors[c]).begin_object();
                j.field("packets", pol.packets[c]).field("bytes", pol.bytes[c]);
                j.end_object();
            }
            j.field("dropped", pol.dropped).field("remarked", pol.remarked);
            if (pol.scope == policer_scope::per_source) {
                j.field("table_full", pol.table_full)
                    .field("sources_created", pol.sources_created)
                    .field("sources_evicted", pol.sources_evicted);
                j.key("top_sources").begin_array();
                for (const auto& t : pol.top_sources) {
                    j.begin_object()
                        .field("source", t.source)
                        .field("dropped", t.dropped)
                        .field("bytes", t.bytes)
                        .field("packets", t.packets)
                        .end_object();
                }
                j.end_array();
            }
            j.end_object();
        }
        j.end_array();
    }
    if (r.flows) {
        flows_json(j, *r.flows);
    }
    j.key("mempool").begin_object();
    j.field("size", r.mempool.size)
        .field("available", r.mempool.available)
        .field("in_use", r.mempool.size - r.mempool.available);
    j.end_object();
    j.end_object();
    return j.str() + "\n";
}

std::vector<std::string> short_tx_pcap_files(const std::vector<std::string>& eal_args,
                                             const run_report& r) {
    std::vector<std::string> out;
    for (const auto& p : vdev_params(eal_args)) {
        if (p.key != "tx_pcap") {
            continue;
        }
        const auto port = std::find_if(r.ports.begin(), r.ports.end(),
                                       [&](const port_report& pr) { return pr.name == p.device; });
        if (port == r.ports.end()) {
            continue;
        }
        const uint64_t expected = 24 + 16 * port->opackets + port->obytes;
        std::error_code ec;
        const uint64_t size = std::filesystem::file_size(p.value, ec);
        if (ec || size < expected) {
            out.push_back(p.device + ": tx_pcap file '" + p.value + "' holds " +
                          (ec ? std::string("nothing readable") : std::to_string(size) + " bytes") +
                          " of the " + std::to_string(expected) + " written to it (" +
                          std::to_string(port->opackets) +
                          " frames): frames were lost; is its file system full? (df -h)");
        }
    }
    return out;
}

run_report make_report(const dataplane& dp, double seconds, bool final) {
    run_report r;
    r.mode = dp.config().mode == forwarding_mode::router ? "router" : "bridge";
    r.config = dp.info();
    r.generations_alive = generation::alive();
    r.firewall = dp.firewall_report();
    r.exact = dp.exact_report();
    r.policers = dp.policer_reports();
    r.flows = dp.flow_summary();
    if (dp.config().firewall) {
        r.firewall_setup = &*dp.config().firewall;
    }
    r.final = final;
    r.seconds = seconds;
    r.pipe = dp.stats();
    for (const auto& p : dp.ports()) {
        port_report pr;
        pr.id = p.port_id;
        pr.name = p.name;
        pr.peer = p.peer;
        pr.rx = r.pipe.port_rx[p.port_id];
        pr.tx = r.pipe.port_tx[p.port_id];
        pr.rx_polls = r.pipe.port_rx_polls[p.port_id];
        rte_eth_stats es{};
        if (rte_eth_stats_get(p.port_id, &es) == 0) {
            pr.ipackets = es.ipackets;
            pr.opackets = es.opackets;
            pr.ibytes = es.ibytes;
            pr.obytes = es.obytes;
            pr.imissed = es.imissed;
            pr.ierrors = es.ierrors;
            pr.oerrors = es.oerrors;
            pr.rx_nombuf = es.rx_nombuf;
        }
        r.ports.push_back(pr);
    }
    r.mempool.size = dp.pool()->size;
    r.mempool.available = rte_mempool_avail_count(dp.pool());
    return r;
}

namespace {

std::string format(const char* fmt, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

}  // namespace

std::string summary_text(const run_report& r) {
    const pipeline_stats& p = r.pipe;
    std::string out = format(
        "dpdk-app: %.2f s  rx %llu  forwarded %llu  dropped %llu  consumed %llu  "
        "generated %llu (sent %llu, dropped %llu)  in_flight %llu\n",
        r.seconds, ull(p.rx), ull(p.forwarded), ull(p.dropped()), ull(p.consumed),
        ull(p.generated), ull(p.generated_sent), ull(p.generated_dropped), ull(p.in_flight));
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        if (p.drops[i] > 0) {
            out += format("  drop %-16s %llu\n", std::string(drop_reason_names[i]).c_str(),
                          ull(p.drops[i]));
        }
    }
    for (const auto& port : r.ports) {
        out += format(
            "  port %u %-12s rx %llu tx %llu (driver: in %llu out %llu missed %llu "
            "errors %llu/%llu",
            unsigned{port.id}, port.name.c_str(), ull(port.rx), ull(port.tx), ull(port.ipackets),
            ull(port.opackets), ull(port.imissed), ull(port.ierrors), ull(port.oerrors));
        // Frames the driver could not take for want of mbufs: lost before
        // the pipeline saw them ([mempool] mbufs too small for the load).
        out += port.rx_nombuf > 0 ? format(" no-mbuf %llu)\n", ull(port.rx_nombuf)) : ")\n";
    }
    if (r.flows) {
        const flow_report& f = *r.flows;
        out += format("  flows created %llu exported %llu queued %llu lost %llu live %llu "
                      "(evicted %llu, unaccounted packets %llu)\n",
                      ull(f.created), ull(f.exported), ull(f.queued), ull(f.lost), ull(f.live),
                      ull(f.evicted), ull(f.table_full));
        for (const auto& c : f.collectors) {
            out += format("  collector %s %s: %llu messages, %llu records, %llu refused%s%s\n",
                          c.address.c_str(), c.protocol.c_str(), ull(c.messages), ull(c.records),
                          ull(c.errors), c.last_error.empty() ? "" : " (last: ",
                          c.last_error.empty() ? "" : (c.last_error + ")").c_str());
        }
    }
    return out;
}

std::string status_line(const pipeline_stats& now, const pipeline_stats& last, double dt,
                        const std::vector<port_plan>& ports) {
    auto mpps = [dt](uint64_t a, uint64_t b) { return static_cast<double>(a - b) / dt / 1e6; };
    std::string line = format("\rrx %.3f Mpps  fwd %.3f Mpps  drops %llu", mpps(now.rx, last.rx),
                              mpps(now.forwarded, last.forwarded), ull(now.dropped()));
    for (const auto& p : ports) {
        line += format(" | %s rx %.3f tx %.3f", p.name.c_str(),
                       mpps(now.port_rx[p.port_id], last.port_rx[p.port_id]),
                       mpps(now.port_tx[p.port_id], last.port_tx[p.port_id]));
    }
    return line + "   ";
}

std::string write_file_atomic(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) {
        return "cannot write " + tmp + ": " + std::strerror(errno);
    }
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) {
        std::remove(tmp.c_str());
        return "cannot write " + tmp + ": " + std::strerror(errno);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(tmp.c_str());
        errno = e;
        return "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    }
    return {};
}

}  // namespace dpdk_app
