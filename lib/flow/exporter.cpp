#include "flow/exporter.hpp"

#include "log/log.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace dpdk_app {

namespace {

std::atomic<uint64_t> exporter_serial{0};

export_protocol protocol_of(flow_protocol p) {
    switch (p) {
        case flow_protocol::netflow_v9:
            return export_protocol::netflow_v9;
        case flow_protocol::netflow_v5:
            return export_protocol::netflow_v5;
        case flow_protocol::ipfix:
            break;
    }
    return export_protocol::ipfix;
}

const char* protocol_name(flow_protocol p) {
    switch (p) {
        case flow_protocol::netflow_v9:
            return "netflow-v9";
        case flow_protocol::netflow_v5:
            return "netflow-v5";
        case flow_protocol::ipfix:
            break;
    }
    return "ipfix";
}

uint64_t wall_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

std::string address_text(const flow_key& k, const uint8_t* a) {
    char buf[INET6_ADDRSTRLEN];
    ::inet_ntop(k.version == 6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
    return buf;
}

// Records are enqueued by value: the ring's element size must be a
// multiple of 4 bytes.
static_assert(sizeof(flow_record) % 4 == 0);

}  // namespace

// Where a lane's table puts ended records: its ring while the lanes run;
// at shutdown (direct), straight into the exporter's batch.
class flow_exporter::ring_sink final : public flow_sink {
  public:
    ring_sink(rte_ring* r, flow_exporter& owner) noexcept : ring_(r), owner_(owner) {}
    bool put(const flow_record& r) noexcept override {
        if (direct_) {
            owner_.batch_.push_back(r);
            if (owner_.batch_.size() >= batch) {
                owner_.send(owner_.batch_, wall_ms());
                owner_.batch_.clear();
            }
            return true;
        }
        return rte_ring_sp_enqueue_elem(ring_, const_cast<flow_record*>(&r), sizeof r) == 0;
    }
    void set_direct() noexcept { direct_ = true; }

  private:
    rte_ring* ring_;
    flow_exporter& owner_;
    bool direct_ = false;
};

struct flow_exporter::collector {
    collector(const flow_collector_config& c, const encoder_options& o, std::string& error)
        : config(c), encoder(o), socket(c.host, c.port, error) {}
    flow_collector_config config;
    flow_encoder encoder;
    udp_collector socket;
    uint64_t messages = 0;  // as of the last send: report() reads these under the mutex
    uint64_t errors = 0;
    uint64_t records = 0;
    uint64_t skipped = 0;
    int last_errno = 0;
    uint64_t logged_errors = 0;
    uint64_t last_log_ms = 0;
    std::vector<std::vector<uint8_t>> out;

    std::string address() const {
        return config.host.find(':') != std::string::npos
                   ? "[" + config.host + "]:" + std::to_string(config.port)
                   : config.host + ":" + std::to_string(config.port);
    }
};

struct flow_exporter::lane_state {
    rte_ring* ring = nullptr;
    std::unique_ptr<ring_sink> sink;
    flow_table* table = nullptr;
    const counter* sampled_out = nullptr;
    ~lane_state() { rte_ring_free(ring); }
};

std::unique_ptr<flow_exporter> flow_exporter::create(const flow_config& config, unsigned lanes,
                                                     uint64_t tsc_hz, std::string& error) {
    std::unique_ptr<flow_exporter> x(new flow_exporter());
    x->config_ = config;
    x->hz_ = tsc_hz != 0 ? tsc_hz : 1;
    x->clock_ = tsc_clock{.base_tsc = rte_get_tsc_cycles(), .base_ms = wall_ms(), .hz = x->hz_};
    x->batch_.reserve(batch);
    const uint64_t serial = exporter_serial.fetch_add(1);
    for (unsigned lane = 0; lane < lanes; ++lane) {
        auto l = std::make_unique<lane_state>();
        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "flowx_%llu_%u", static_cast<unsigned long long>(serial),
                      lane);
        l->ring = rte_ring_create_elem(name, sizeof(flow_record), config.ring_size,
                                       static_cast<int>(rte_socket_id()),
                                       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
        if (l->ring == nullptr) {
            error = "cannot create the flow record ring of lane " + std::to_string(lane) + " (" +
                    std::to_string(config.ring_size) + " records): " + rte_strerror(rte_errno);
            return nullptr;
        }
        l->sink = std::make_unique<ring_sink>(l->ring, *x);
        x->lanes_.push_back(std::move(l));
    }
    encoder_options o;
    o.domain_id = config.domain_id;
    o.mtu = config.mtu;
    o.template_refresh_s = config.template_refresh;
    o.boot_ms = x->clock_.base_ms;
    o.sampling_interval = config.sampling;
    o.sampling_random = config.sampling_random;
    for (const auto& c : config.collectors) {
        o.protocol = protocol_of(c.protocol);
        std::string why;
        auto made = std::make_unique<collector>(c, o, why);
        if (!made->socket.ok()) {
            error = "flow collector " + made->address() + ": " + why;
            return nullptr;
        }
        x->collectors_.push_back(std::move(made));
    }
    return x;
}

flow_exporter::~flow_exporter() = default;

flow_sink& flow_exporter::sink(unsigned lane) noexcept {
    return *lanes_[lane]->sink;
}

void flow_exporter::attach(unsigned lane, flow_table* table, const counter* sampled_out) {
    lanes_[lane]->table = table;
    lanes_[lane]->sampled_out = sampled_out;
}

uint64_t flow_exporter::lost_total() const noexcept {
    uint64_t lost = 0;
    for (const auto& l : lanes_) {
        if (l->table != nullptr) {
            lost += l->table->lost() + l->table->active_reports_lost();
        }
    }
    return lost;
}

void flow_exporter::send(const std::vector<flow_record>& recs, uint64_t now_ms) {
    const uint64_t lost = lost_total();
    std::lock_guard lock(mutex_);
    for (auto& c : collectors_) {
        c->out.clear();
        c->encoder.encode(recs, now_ms, lost, c->out);
        if (c->out.empty()) {
            continue;
        }
        c->socket.send(c->out);
        log(log_component::flow, log_level::debug, "flow collector %s: %zu records in %zu messages",
            c->address().c_str(), recs.size(), c->out.size());
        c->messages = c->socket.sent();
        c->errors = c->socket.errors();
        c->records = c->encoder.exported();
        c->skipped = c->encoder.skipped();
        c->last_errno = c->socket.last_error();
        // Refusals are logged at a bounded rate: a collector that is down
        // must not fill the log.
        if (c->errors != c->logged_errors &&
            (c->last_log_ms == 0 || now_ms - c->last_log_ms >= log_interval_s * 1000)) {
            log(log_component::flow, log_level::warning,
                "flow collector %s: %s (%llu datagrams refused so far; forwarding goes on)",
                c->address().c_str(), std::strerror(c->last_errno),
                static_cast<unsigned long long>(c->errors));
            c->logged_errors = c->errors;
            c->last_log_ms = now_ms;
        }
    }
}

void flow_exporter::poll(uint64_t now) {
    uint32_t taken = 0;
    for (auto& l : lanes_) {
        while (taken < max_per_poll) {
            batch_.resize(batch);
            const unsigned n = rte_ring_sc_dequeue_burst_elem(l->ring, batch_.data(),
                                                              sizeof(flow_record), batch, nullptr);
            batch_.resize(n);
            if (n == 0) {
                break;
            }
            uint64_t active = 0;
            for (const auto& r : batch_) {
                active += r.end == flow_end_reason::active_timeout;
            }
            exported_.add(n - active);
            taken_active_.add(active);
            taken += n;
            send(batch_, clock_.ms(now));
        }
    }
    batch_.clear();
    if (taken == 0) {
        send(batch_, clock_.ms(now));  // templates, when they are due
    }
}

void flow_exporter::finish() {
    poll(rte_get_tsc_cycles());
    for (auto& l : lanes_) {
        // Whatever the ring still holds first, then the live flows.
        flow_record r;
        while (rte_ring_sc_dequeue_elem(l->ring, &r, sizeof r) == 0) {
            batch_.push_back(r);
            (r.end == flow_end_reason::active_timeout ? taken_active_ : exported_).inc();
        }
        if (l->table == nullptr) {
            continue;
        }
        l->sink->set_direct();
        const uint64_t ended_before = l->table->ended();
        l->table->drain();
        exported_.add(l->table->ended() - ended_before);
    }
    if (!batch_.empty()) {
        send(batch_, wall_ms());
        batch_.clear();
    }
}

flow_report flow_exporter::report() const {
    flow_report r;
    r.lanes = static_cast<uint32_t>(lanes_.size());
    r.max_flows = config_.max_flows;
    uint64_t ended = 0;
    uint64_t oldest = UINT64_MAX;
    const uint64_t now = rte_get_tsc_cycles();
    std::vector<flow_top_row> by_octets, by_packets;
    for (unsigned lane = 0; lane < lanes_.size(); ++lane) {
        const auto& l = lanes_[lane];
        if (l->sampled_out != nullptr) {
            r.sampled_out += l->sampled_out->get();
        }
        const flow_table* t = l->table;
        if (t == nullptr) {
            continue;
        }
        r.live += t->live();
        r.created += t->created();
        ended += t->ended();
        r.lost += t->lost();
        r.evicted += t->evicted();
        r.table_full += t->table_full();
        r.active_reports += t->active_reports();
        r.active_reports_lost += t->active_reports_lost();
        const uint64_t at = t->top().read(by_octets, by_packets);
        if (t->top().size() != 0 && at != 0) {
            oldest = std::min(oldest, at);
        }
        auto add = [&](const std::vector<flow_top_row>& rows, std::vector<flow_top_report>& into) {
            for (const auto& row : rows) {
                flow_top_report f;
                f.ip_version = row.key.version;
                f.src = address_text(row.key, row.key.src);
                f.dst = address_text(row.key, row.key.dst);
                f.sport = row.key.sport;
                f.dport = row.key.dport;
                f.proto = row.key.proto;
                f.in_port = row.key.in_port;
                f.out_port = row.out_port;
                f.vlan = row.key.vlan;
                f.lane = lane;
                f.packets = row.packets;
                f.octets = row.octets;
                into.push_back(std::move(f));
            }
        };
        add(by_octets, r.top_octets);
        add(by_packets, r.top_packets);
    }
    r.exported = exported_.get();
    r.queued = ended > r.exported ? ended - r.exported : 0;
    const auto keep = [n = config_.top](std::vector<flow_top_report>& rows, auto field) {
        std::stable_sort(rows.begin(), rows.end(),
                         [&](const auto& a, const auto& b) { return a.*field > b.*field; });
        if (rows.size() > n) {
            rows.resize(n);
        }
    };
    keep(r.top_octets, &flow_top_report::octets);
    keep(r.top_packets, &flow_top_report::packets);
    r.top_age_s = oldest == UINT64_MAX ? 0
                                       : static_cast<double>(now - std::min(now, oldest)) /
                                             static_cast<double>(hz_);
    std::lock_guard lock(mutex_);
    for (const auto& c : collectors_) {
        flow_collector_report cr;
        cr.address = c->address();
        cr.protocol = protocol_name(c->config.protocol);
        cr.messages = c->messages;
        cr.records = c->records;
        cr.skipped = c->skipped;
        cr.errors = c->errors;
        cr.last_error = c->last_errno != 0 ? std::strerror(c->last_errno) : "";
        r.collectors.push_back(std::move(cr));
    }
    return r;
}

}  // namespace dpdk_app
