#include "ctl/report.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ctl/json.hpp"

namespace dpdk_app {

std::string to_json(const run_report& r) {
    const pipeline_stats& p = r.pipe;
    json_writer j;
    j.begin_object();
    j.field("mode", r.mode).field("seconds", r.seconds).field("final", r.final);
    j.key("config").begin_object();
    j.field("generation", r.config.generation)
        .field("reloads", r.config.reloads)
        .field("reload_failures", r.config.reload_failures)
        .field("routes4", r.config.routes4)
        .field("routes6", r.config.routes6);
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
    j.key("mempool").begin_object();
    j.field("size", r.mempool.size)
        .field("available", r.mempool.available)
        .field("in_use", r.mempool.size - r.mempool.available);
    j.end_object();
    j.end_object();
    return j.str() + "\n";
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
