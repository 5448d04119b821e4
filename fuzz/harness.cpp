#include "harness.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "dataplane/compose.hpp"
#include "packet/meta.hpp"
#include "pipeline/generated.hpp"

namespace dpdk_app::fuzz {

void fail(const std::string& why) {
    std::fprintf(stderr, "fuzz harness: %s\n", why.c_str());
    std::fflush(stderr);
    std::abort();
}

namespace {

// "--lcores=0@(a,b,...)": lcore 0 may run on any CPU of this process's
// affinity mask instead of being pinned to CPU 0 of a shared machine.
std::string lcore_map() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::string cpus;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (CPU_ISSET(cpu, &set)) {
                cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
            }
        }
    }
    return cpus.empty() ? "--lcores=0" : "--lcores=0@(" + cpus + ")";
}

struct process_state {
    rte_mempool* pool = nullptr;
    rte_mempool* control = nullptr;
    ring_port ports[fuzz_ports];
};

// Made once and never torn down: libFuzzer ends the process with exit(),
// and EAL's threads are still running then.
process_state* state = nullptr;

void start_ports() {
    for (uint16_t p = 0; p < fuzz_ports; ++p) {
        const std::string short_name = "fz" + std::to_string(p);
        ring_port& rp = state->ports[p];
        rp.rx = rte_ring_create((short_name + "_rx").c_str(), 1024, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
        rp.tx = rte_ring_create((short_name + "_tx").c_str(), 1024, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (rp.rx == nullptr || rp.tx == nullptr) {
            fail("cannot create the port rings: " + std::string(rte_strerror(rte_errno)));
        }
        const int id = rte_eth_from_rings(short_name.c_str(), &rp.rx, 1, &rp.tx, 1,
                                          static_cast<unsigned>(rte_socket_id()));
        if (id != p) {
            fail("the ring port " + short_name + " got id " + std::to_string(id) + ", not " +
                 std::to_string(p));
        }
        rp.id = p;
        rp.name = "net_ring_" + short_name;
        port_plan plan;
        plan.port_id = p;
        plan.name = rp.name;
        plan.rx_desc = 128;
        plan.tx_desc = 128;
        const std::string error = start_port(plan, 1, state->pool);
        if (!error.empty()) {
            fail("cannot start " + rp.name + ": " + error);
        }
    }
}

}  // namespace

void start_eal() {
    if (state != nullptr) {
        return;
    }
    // --in-memory does not go with --no-huge in DPDK 22.11 (it implies
    // --legacy-mem there): a prefix of this process's own and no shared
    // configuration files instead.
    std::vector<std::string> args = {"fuzz",
                                     "--no-pci",
                                     "--no-huge",
                                     "--no-shconf",
                                     "--file-prefix=fuzz" + std::to_string(::getpid()),
                                     "--no-telemetry",
                                     lcore_map(),
                                     "-m",
                                     "1024",
                                     "--log-level=lib.*:error"};
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        fail("rte_eal_init failed: " + std::string(rte_strerror(rte_errno)));
    }
    // Nothing is kept in the runtime directory without shared configuration
    // files: it goes now, so that no input that crashes leaves it behind.
    std::error_code ec;
    std::filesystem::remove_all(rte_eal_get_runtime_dir(), ec);
    if (!register_generated_flag()) {
        fail("cannot register the generated mbuf flag");
    }
    state = new process_state;
    const int socket = static_cast<int>(rte_socket_id());
    state->pool = create_mbuf_pool("fuzz_pool", pool_mbufs, 0, packet_meta_priv_size,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    state->control = create_mbuf_pool("fuzz_ctl", control_mbufs, 0, packet_meta_priv_size,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (state->pool == nullptr || state->control == nullptr) {
        fail("cannot create the mbuf pools: " + std::string(rte_strerror(rte_errno)));
    }
    start_ports();
}

rte_mempool* packet_pool() {
    return state->pool;
}

rte_mempool* control_pool() {
    return state->control;
}

const ring_port& port(uint16_t id) {
    return state->ports[id];
}

rte_mbuf* make_frame(rte_mempool* pool, std::span<const uint8_t> frame, uint16_t in_port,
                     const frame_layout& layout) {
    rte_mbuf* head = nullptr;
    std::size_t off = 0;
    std::size_t i = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) {
            fail("the packet pool is empty: mbufs of an earlier input were not freed");
        }
        if (head == nullptr) {
            m->data_off = std::min<uint16_t>(layout.headroom, m->buf_len);
        }
        std::size_t n = rte_pktmbuf_tailroom(m);
        if (i < layout.segments.size()) {
            n = std::min(n, layout.segments[i]);
        }
        n = std::min(n, frame.size() - off);
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
        if (n > 0) {
            std::memcpy(p, frame.data() + off, n);
        }
        if (head == nullptr) {
            head = m;
            head->port = in_port;
            head->ol_flags |= layout.ol_flags;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            fail("more segments than an mbuf chain holds");
        }
        off += n;
        ++i;
    } while (off < frame.size());
    return head;
}

std::vector<uint8_t> frame_bytes(const rte_mbuf* m) {
    std::vector<uint8_t> out;
    out.reserve(m->pkt_len);
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
        out.insert(out.end(), p, p + s->data_len);
    }
    return out;
}

packet_input decode_input(const uint8_t* data, std::size_t size) {
    packet_input in;
    if (size < packet_input_head) {
        in.frame = {data, size};
        return in;
    }
    const uint8_t ctl = data[0];
    in.chain = ctl & 3u;
    in.apart = (ctl & 4u) != 0;
    in.in_port = (ctl & 8u) != 0 ? 1 : 0;
    in.layout = (ctl >> 4) & 3u;
    static constexpr uint64_t cksum[] = {RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN,
                                         RTE_MBUF_F_RX_IP_CKSUM_GOOD, RTE_MBUF_F_RX_IP_CKSUM_BAD,
                                         RTE_MBUF_F_RX_IP_CKSUM_NONE};
    in.cksum_flags = cksum[ctl >> 6];
    in.split_a = data[1];
    in.split_b = data[2];
    // Even: drivers put frames at even offsets, and DPDK declares
    // rte_ether_hdr 2-byte aligned.
    in.headroom = std::min<uint16_t>(data[3] & ~1u, RTE_PKTMBUF_HEADROOM);
    in.frame = {data + packet_input_head, size - packet_input_head};
    return in;
}

std::vector<rte_mbuf*> input_mbufs(const packet_input& in, rte_mempool* pool) {
    const std::size_t n = in.frame.size();
    frame_layout one;
    one.headroom = in.headroom;
    one.ol_flags = in.cksum_flags;
    // Segments of at least one byte each: what drivers deliver.
    frame_layout two = one;
    if (n >= 2) {
        two.segments = {1 + in.split_a % (n - 1)};
    }
    frame_layout three = one;
    if (n >= 3) {
        const std::size_t first = 1 + in.split_a % (n - 2);
        three.segments = {first, 1 + in.split_b % (n - first - 1)};
    }
    switch (in.layout) {
        case 0:
            return {make_frame(pool, in.frame, in.in_port, one)};
        case 1:
            return {make_frame(pool, in.frame, in.in_port, two)};
        case 2:
            return {make_frame(pool, in.frame, in.in_port, three)};
        default:
            return {make_frame(pool, in.frame, in.in_port, one),
                    make_frame(pool, in.frame, in.in_port, three)};
    }
}

std::string hex(std::span<const uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

void free_all(std::vector<rte_mbuf*>& pkts) {
    for (rte_mbuf* m : pkts) {
        rte_pktmbuf_free(m);
    }
    pkts.clear();
}

void check_mbuf_chain(const rte_mbuf* m, const char* what) {
    uint32_t bytes = 0;
    uint16_t segs = 0;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        if (s->data_off + s->data_len > s->buf_len) {
            fail(std::string(what) + ": a segment's data runs past its buffer");
        }
        bytes += s->data_len;
        ++segs;
    }
    if (bytes != m->pkt_len || segs != m->nb_segs) {
        fail(std::string(what) + ": the chain holds " + std::to_string(bytes) + " bytes in " +
             std::to_string(segs) + " segments, the head says " + std::to_string(m->pkt_len) +
             " in " + std::to_string(m->nb_segs));
    }
}

std::unique_ptr<fuzz_chain> fuzz_chain::create(std::string_view name, std::string_view toml) {
    std::unique_ptr<fuzz_chain> c(new fuzz_chain());
    const std::string what = "configuration " + std::string(name) + ": ";
    config_result parsed = parse_config(toml, name);
    check_config(parsed.config, parsed.errors);
    if (!parsed.ok()) {
        fail(what + parsed.errors.front().to_string());
    }
    c->config_ = std::move(parsed.config);
    std::string error;
    c->plans_ = resolve_ports(c->config_, error);
    if (c->plans_.empty()) {
        fail(what + error);
    }
    c->slow_ = slow_path::create(1, c->config_.responder.neighbor_max, error);
    if (!c->slow_) {
        fail(what + error);
    }
    // Tables are named after their generation's number: one number per
    // configuration in the process.
    static uint64_t number = 0;
    std::vector<std::string> errors;
    auto gen = compile_generation(c->config_, {&c->plans_, &c->slow_->neighbors(), 1, nullptr},
                                  ++number, errors);
    if (!gen) {
        fail(what + errors.front());
    }
    c->store_ = std::make_unique<generation_store>(nullptr);
    c->store_->publish(std::move(gen), 0);

    const auto chain = compose_chain(c->config_);
    const std::vector<std::string> middle(chain.begin() + 1, chain.end() - 1);
    const stage_deps deps{0, &c->config_, &c->plans_, c->slow_.get(), rte_get_tsc_hz()};
    segment::wiring w;
    w.burst_size = max_burst;
    for (const port_plan& p : c->plans_) {
        w.rx_ports.push_back(p.port_id);
        w.tx_ports.push_back(p.port_id);
    }
    w.tx = true;
    w.inject_ring = c->slow_->inject(0);
    w.idle_rx_backoff = 1;  // every port on every visit: an input is taken in one round
    w.stop_rx = &c->stop_rx_;
    w.generations = c->store_.get();
    w.timing_sample = 1;  // the timed path on every burst
    for (int apart = 0; apart < 2; ++apart) {
        std::vector<std::unique_ptr<stage>> stages;
        if (!make_stages(middle, deps, apart == 0, stages, error)) {
            fail(what + error);
        }
        c->segments_[apart] = std::make_unique<segment>(w, std::move(stages));
    }
    return c;
}

fuzz_chain::~fuzz_chain() = default;

chain_output fuzz_chain::collect(const segment& seg, uint64_t tx_before) {
    chain_output out;
    for (uint16_t p = 0; p < fuzz_ports; ++p) {
        void* obj = nullptr;
        while (rte_ring_sc_dequeue(port(p).tx, &obj) == 0) {
            auto* m = static_cast<rte_mbuf*>(obj);
            m->port = p;  // TX does not write it for a burst-level egress
            out.sent.push_back(m);
            out.generated.push_back(is_generated(m));
        }
    }
    const segment_counters& c = seg.counters();
    const uint64_t tx_now = c.forwarded.get() + c.generated_sent.get();
    if (tx_now - tx_before != out.sent.size()) {
        fail("TX counted " + std::to_string(tx_now - tx_before) + " packets sent, the ports got " +
             std::to_string(out.sent.size()));
    }
    return out;
}

chain_output fuzz_chain::run(std::span<rte_mbuf* const> pkts, uint16_t in_port, bool apart,
                             bool take_punts) {
    segment& seg = *segments_[apart ? 1 : 0];
    const segment_counters& c = seg.counters();
    const uint64_t rx_before = c.rx.get();
    const uint64_t tx_before = c.forwarded.get() + c.generated_sent.get();
    for (rte_mbuf* m : pkts) {
        if (rte_ring_sp_enqueue(port(in_port).rx, m) != 0) {
            fail("the RX ring of port " + std::to_string(in_port) + " is full");
        }
    }
    // One round over the ports takes the burst (no RX backoff); a few more
    // in case a driver split it.
    for (unsigned step = 0; step < 4 * fuzz_ports && c.rx.get() - rx_before < pkts.size(); ++step) {
        seg.step();
    }
    if (c.rx.get() - rx_before != pkts.size()) {
        fail("the segment received " + std::to_string(c.rx.get() - rx_before) + " of " +
             std::to_string(pkts.size()) + " packets");
    }
    chain_output out = collect(seg, tx_before);
    void* obj = nullptr;
    while (take_punts && rte_ring_sc_dequeue(slow_->punt(0), &obj) == 0) {
        out.held.push_back(static_cast<rte_mbuf*>(obj));
    }
    taken_punts_ += out.held.size();
    return out;
}

chain_output fuzz_chain::flush_injected() {
    segment& seg = *segments_[0];
    const segment_counters& c = seg.counters();
    const uint64_t tx_before = c.forwarded.get() + c.generated_sent.get();
    injected_ += rte_ring_count(slow_->inject(0));
    seg.step();  // sends the inject ring before it polls RX (and finds nothing there)
    return collect(seg, tx_before);
}

void fuzz_chain::check_ledger(const char* where) const {
    uint64_t rx = 0, forwarded = 0, consumed = 0, generated = 0, generated_sent = 0;
    uint64_t dropped = 0, generated_dropped = 0;
    auto add = [&](const segment_counters& k) {
        rx += k.rx.get();
        forwarded += k.forwarded.get();
        consumed += k.consumed.get();
        generated += k.generated.get();
        generated_sent += k.generated_sent.get();
        generated_dropped += k.generated_dropped.get();
        for (const auto& d : k.drops) {
            dropped += d.get();
        }
    };
    for (const auto& seg : segments_) {
        add(seg->counters());
    }
    const segment_counters& s = slow_->counters();
    add(s);
    const uint64_t received_dropped = dropped - generated_dropped;
    const uint64_t punted = taken_punts_ + rte_ring_count(slow_->punt(0)) + s.held.get();
    if (rx != forwarded + received_dropped + consumed + punted ||
        generated != generated_sent + generated_dropped) {
        fail(std::string(where) + ": the ledger does not hold: rx " + std::to_string(rx) +
             " vs forwarded " + std::to_string(forwarded) + " + dropped " +
             std::to_string(received_dropped) + " + consumed " + std::to_string(consumed) +
             " + punted or held " + std::to_string(punted) + "; generated " +
             std::to_string(generated) + " vs sent " + std::to_string(generated_sent) +
             " + dropped " + std::to_string(generated_dropped));
    }
    // Slot k + 1 got what slot k passed on (a stage that empties the burst
    // ends it: the next ones get nothing); TX also what was injected.
    for (int apart = 0; apart < 2; ++apart) {
        const segment& seg = *segments_[apart];
        const segment_counters& c = seg.counters();
        const auto& names = seg.stage_names();
        for (std::size_t k = 1; k < names.size(); ++k) {
            const uint64_t passed = c.stages[k - 1].packets_out.get() +
                                    (apart == 0 && k + 1 == names.size() ? injected_ : 0);
            const uint64_t got = c.stages[k].packets_in.get();
            if (passed != got) {
                fail(std::string(where) + ": stage " + names[k] + " got " + std::to_string(got) +
                     " packets, " + names[k - 1] + " passed on " + std::to_string(passed));
            }
        }
    }
    const unsigned free_mbufs = rte_mempool_avail_count(state->pool);
    if (free_mbufs != pool_mbufs) {
        fail(std::string(where) + ": " + std::to_string(pool_mbufs - free_mbufs) +
             " mbufs of the packet pool are not back");
    }
    if (rte_mempool_avail_count(state->control) != control_mbufs) {
        fail(std::string(where) + ": mbufs of the control pool are not back");
    }
}

std::string topology_toml(topology t, std::string_view port_police) {
    std::string text;
    const bool router = t == topology::router;
    text += router ? "[dataplane]\nmode = \"router\"\n" : "";
    const char* peers[] = {"net_ring_fz1", "net_ring_fz0"};
    for (uint16_t p = 0; p < fuzz_ports; ++p) {
        text += "[[port]]\nname = \"net_ring_fz" + std::to_string(p) + "\"\n";
        if (t == topology::bridge_pair) {
            text += "peer = \"" + std::string(peers[p]) + "\"\n";
        } else if (t == topology::bridge_one_armed) {
            text += "peer = \"net_ring_fz" + std::to_string(p) + "\"\n";
        }
        if (p == 0 && !port_police.empty()) {
            text += "police = \"" + std::string(port_police) + "\"\n";
        }
    }
    text += R"(
[[interface]]
port = "net_ring_fz0"
mac = "02:00:00:00:00:02"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]
)";
    if (t != topology::bridge_pair) {
        text += R"(
[[interface]]
port = "net_ring_fz1"
mac = "02:00:00:00:01:01"
addresses = ["198.51.100.1/24", "2001:db8:2::1/64"]
mtu = 1400
)";
    }
    if (router) {
        text += R"(
[[route]]
prefix = "203.0.113.0/24"
via = "198.51.100.2"
[[route]]
prefix = "2001:db8:99::/48"
via = "2001:db8:2::2"
[[route]]
prefix = "100.64.0.0/10"
via = "198.51.100.3"
[[route]]
prefix = "2001:db8:77::/48"
via = "2001:db8:1::3"
[[neighbor]]
address = "198.51.100.2"
mac = "02:00:00:00:0a:02"
[[neighbor]]
address = "2001:db8:2::2"
mac = "02:00:00:00:0a:06"
[[neighbor]]
address = "192.0.2.10"
mac = "02:00:00:00:0a:0a"
)";
    }
    return text;
}

std::string firewall_toml(bool stateful) {
    std::string text = "\n[firewall]\ndefault = \"accept\"\n";
    if (stateful) {
        text += R"(
[firewall.conntrack]
capacity = 1024
[[firewall.rule]]
action = "accept"
state = ["established", "related"]
[[firewall.rule]]
action = "drop"
state = "invalid"
)";
    }
    text += R"(
[[firewall.rule]]
action = "count"
proto = "udp"
[[firewall.rule]]
action = "drop"
proto = "udp"
dst = "203.0.113.0/27"
[[firewall.rule]]
action = "reject"
proto = "udp"
dport = 7
[[firewall.rule]]
action = "reject"
proto = "tcp"
dport = "7-9"
[[firewall.rule]]
action = "drop"
proto = "icmpv6"
icmp_type = 129
[[firewall.rule]]
action = "accept"
proto = "tcp"
dport = 22
police = "ssh"
[[firewall.rule]]
action = "drop"
fragment = "non-first"
vlan = 7
[firewall.exact]
entries = ["drop src 192.0.2.66", "accept dst 198.51.100.9 udp 53",
           "drop flow tcp 192.0.2.10 1000 203.0.113.5 80", "drop src 2001:db8:1::66"]

[[policer]]
name = "ssh"
kind = "srtcm"
cir = "1000pps"
cbs = "10packets"
scope = "per-source"
max_keys = 16
idle_timeout = 1
[[policer]]
name = "edge"
kind = "trtcm"
cir = "100Mbit"
pir = "200Mbit"
cbs = "10ms"
pbs = "10ms"
yellow = "remark:af11"
)";
    return text;
}

std::string unlimited_responder_toml() {
    return R"(
[responder]
error_rate = 10000000
error_burst = 1000000
error_rate_per_source = 10000000
error_burst_per_source = 1000000
)";
}

}  // namespace dpdk_app::fuzz
