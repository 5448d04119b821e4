// [flow] in the configuration (every key, every error with its position),
// and the flow stage with its exporter in process: 1-in-N sampling counts
// exactly one packet in N, generated packets are no flows, a full ring
// loses records with a count (the lane never waits), and finish() sends
// every live flow to the collector, the ledger exact throughout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "collectors.hpp"
#include "config/config.hpp"
#include "corpus.hpp"
#include "dataplane/dataplane.hpp"
#include "firewall_util.hpp"
#include "flow/exporter.hpp"
#include "flow/flow_stage.hpp"
#include "mbuf_util.hpp"
#include "packet/parse.hpp"
#include "pipeline/generated.hpp"

namespace dpdk_app {
namespace {

using namespace corpus;

std::vector<std::string> messages(const config_result& r) {
    std::vector<std::string> out;
    for (const auto& e : r.errors) {
        out.push_back(e.to_string());
    }
    return out;
}

TEST(flow_config, every_key_maps_to_the_model) {
    const config_result r = parse_config(R"(
[flow]
max_flows = 4096
inactive_timeout = 5
active_timeout = 120
fin_linger_ms = 250
packets = "received"
sampling = 100
sampling_mode = "random"
ring_size = 1024
domain_id = 42
mtu = 1200
template_refresh = 30
top = 20
[[flow.collector]]
address = "192.0.2.9:4739"
[[flow.collector]]
address = "[2001:db8::9]:2055"
protocol = "netflow-v9"
transport = "udp"
[[flow.collector]]
address = "127.0.0.1:9995"
protocol = "netflow-v5"
)",
                                         "t.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    ASSERT_TRUE(r.config.flow);
    const flow_config& f = *r.config.flow;
    EXPECT_EQ(f.max_flows, 4096u);
    EXPECT_EQ(f.inactive_timeout, 5u);
    EXPECT_EQ(f.active_timeout, 120u);
    EXPECT_EQ(f.fin_linger_ms, 250u);
    EXPECT_EQ(f.packets, flow_packets::received);
    EXPECT_EQ(f.sampling, 100u);
    EXPECT_TRUE(f.sampling_random);
    EXPECT_EQ(f.ring_size, 1024u);
    EXPECT_EQ(f.domain_id, 42u);
    EXPECT_EQ(f.mtu, 1200u);
    EXPECT_EQ(f.template_refresh, 30u);
    EXPECT_EQ(f.top, 20u);
    ASSERT_EQ(f.collectors.size(), 3u);
    EXPECT_EQ(f.collectors[0].host, "192.0.2.9");
    EXPECT_EQ(f.collectors[0].port, 4739);
    EXPECT_EQ(f.collectors[0].protocol, flow_protocol::ipfix);
    EXPECT_EQ(f.collectors[1].host, "2001:db8::9");
    EXPECT_EQ(f.collectors[1].port, 2055);
    EXPECT_EQ(f.collectors[1].protocol, flow_protocol::netflow_v9);
    EXPECT_EQ(f.collectors[2].protocol, flow_protocol::netflow_v5);
}

TEST(flow_config, an_empty_section_turns_accounting_on_with_the_defaults) {
    const config_result r = parse_config("[flow]\n", "t.toml");
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.config.flow);
    EXPECT_EQ(*r.config.flow, flow_config{});
    EXPECT_FALSE(parse_config("", "t.toml").config.flow) << "no section: no flow stage";
}

struct flow_error_case {
    const char* label;
    const char* text;
    uint32_t line;
    uint32_t column;
    const char* message;
};

void PrintTo(const flow_error_case& c, std::ostream* os) {
    *os << c.label;
}

class flow_config_error : public ::testing::TestWithParam<flow_error_case> {};

TEST_P(flow_config_error, gives_exactly_one_error_with_position) {
    const auto& c = GetParam();
    const config_result r = parse_config(c.text, "bad.toml");
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.errors[0].message, c.message);
    EXPECT_EQ(r.errors[0].where.line, c.line);
    EXPECT_EQ(r.errors[0].where.column, c.column);
}

const flow_error_case flow_error_cases[] = {
    {"host_name", "[flow]\n[[flow.collector]]\naddress = \"collector:4739\"\n", 3, 11,
     "flow.collector.address: expected \"IPV4:PORT\" or \"[IPV6]:PORT\" with a numeric address, "
     "e.g. \"127.0.0.1:4739\""},
    {"no_port", "[flow]\n[[flow.collector]]\naddress = \"192.0.2.1\"\n", 3, 11,
     "flow.collector.address: expected \"IPV4:PORT\" or \"[IPV6]:PORT\" with a numeric address, "
     "e.g. \"127.0.0.1:4739\""},
    {"port_zero", "[flow]\n[[flow.collector]]\naddress = \"192.0.2.1:0\"\n", 3, 11,
     "flow.collector.address: expected \"IPV4:PORT\" or \"[IPV6]:PORT\" with a numeric address, "
     "e.g. \"127.0.0.1:4739\""},
    {"v6_without_brackets", "[flow]\n[[flow.collector]]\naddress = \"2001:db8::1:4739\"\n", 3, 11,
     "flow.collector.address: expected \"IPV4:PORT\" or \"[IPV6]:PORT\" with a numeric address, "
     "e.g. \"127.0.0.1:4739\""},
    {"no_address", "[flow]\n[[flow.collector]]\nprotocol = \"ipfix\"\n", 2, 1,
     "flow.collector: every [[flow.collector]] needs address = \"HOST:PORT\""},
    {"unknown_protocol", "[flow]\n[[flow.collector]]\naddress = \"192.0.2.1:1\"\nprotocol = \"sflow\"\n",
     4, 12, "flow.collector.protocol: expected one of \"ipfix\", \"netflow-v9\", \"netflow-v5\", got \"sflow\""},
    {"tcp_transport", "[flow]\n[[flow.collector]]\naddress = \"192.0.2.1:1\"\ntransport = \"tcp\"\n", 4, 13,
     "flow.collector.transport: only \"udp\" is supported (export over TCP or SCTP is not built)"},
    {"twice", "[flow]\n[[flow.collector]]\naddress = \"192.0.2.1:1\"\n[[flow.collector]]\naddress = \"192.0.2.1:1\"\n",
     4, 1, "flow.collector: 192.0.2.1:1 is already the collector at line 2"},
    {"ring_not_power_of_two", "[flow]\nring_size = 1000\n", 2, 13,
     "flow.ring_size: expected a power of two, got 1000"},
    {"small_table", "[flow]\nmax_flows = 100\n", 2, 13,
     "flow.max_flows: expected an integer in 1024..67108864, got an integer (100)"},
    {"sampling_zero", "[flow]\nsampling = 0\n", 2, 12,
     "flow.sampling: expected an integer in 1..16777216, got an integer (0)"},
    {"unknown_packets", "[flow]\npackets = \"dropped\"\n", 2, 11,
     "flow.packets: expected one of \"forwarded\", \"received\", got \"dropped\""},
    {"unknown_key", "[flow]\nidle_timeout = 5\n", 2, 1, "unknown key 'flow.idle_timeout'"},
    {"unknown_collector_key", "[flow]\n[[flow.collector]]\naddress = \"192.0.2.1:1\"\nversion = 9\n", 4, 1,
     "unknown key 'flow.collector.version'"},
};

INSTANTIATE_TEST_SUITE_P(all, flow_config_error, ::testing::ValuesIn(flow_error_cases),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(flow_config, a_reload_cannot_change_flow_accounting) {
    const app_config a = parse_config("[flow]\n", "a").config;
    app_config b = a;
    EXPECT_TRUE(restart_only_changes(a, b).empty());
    b.flow->inactive_timeout = 3;
    EXPECT_THAT(restart_only_changes(a, b), ::testing::ElementsAre("[flow]"));
    b.flow.reset();
    EXPECT_THAT(restart_only_changes(a, b), ::testing::ElementsAre("[flow]"));
}

// ---- the stage and the exporter ----------------------------------------------------------

// The flows of the NetFlow v5 datagrams a sink took.
unsigned v5_flows(collectors::udp_sink& sink) {
    unsigned n = 0;
    for (const auto& m : sink.messages(std::chrono::milliseconds(200))) {
        if (m.size() >= 24 && collectors::be16(m, 0) == 5) {
            n += collectors::be16(m, 2);
        }
    }
    return n;
}

class flow_stage_test : public unit::pool_test<flow_stage_test> {
  public:
    static constexpr const char* pool_name = "flow_stage_pool";
    static constexpr unsigned pool_size = 1023;

  protected:
    void make(const flow_config& c) {
        config_ = c;
        std::string error;
        exporter_ = flow_exporter::create(config_, 1, rte_get_tsc_hz(), error);
        ASSERT_TRUE(exporter_) << error;
        stage_ = flow_stage::create(0, config_, *exporter_, rte_get_tsc_hz(), error);
        ASSERT_TRUE(stage_) << error;
    }
    void TearDown() override {
        stage_.reset();
        exporter_.reset();
        pool_test::TearDown();
    }
    // One burst of frames through the stage; generated: which are the
    // appliance's own.
    void run(const std::vector<bytes>& frames, const std::vector<bool>& generated = {}) {
        burst b;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            rte_mbuf* m = unit::make_mbuf(pool_, frames[i], 0);
            ASSERT_NE(m, nullptr);
            ASSERT_FALSE(parse_packet(m, *meta_of(m)));
            meta_of(m)->in_port = 0;
            if (i < generated.size() && generated[i]) {
                mark_generated(m);
                b.has_generated = true;
            }
            b.pkts[b.count++] = m;
        }
        segment_counters counters;
        stage_context ctx(counters);
        stage_->process(b, ctx);
        EXPECT_EQ(b.count, frames.size()) << "the flow stage passes every packet on";
        rte_pktmbuf_free_bulk(b.pkts.data(), b.count);
        ctx.free_discarded();
    }
    bool ledger_holds(const flow_report& r) {
        return r.created == r.exported + r.queued + r.lost + r.live;
    }

    flow_config config_;
    std::unique_ptr<flow_exporter> exporter_;
    std::unique_ptr<flow_stage> stage_;
};

bytes udp_frame(uint16_t sport) {
    ipv4_header h;
    h.proto = proto_udp;
    return cat(ethernet(ether_ipv4), ipv4(h, udp(sport, 53, 20)));
}

TEST_F(flow_stage_test, deterministic_sampling_counts_exactly_one_packet_in_n) {
    flow_config c;
    c.sampling = 4;
    make(c);
    for (int k = 0; k < 10; ++k) {
        run(std::vector<bytes>(40, udp_frame(1)));  // 400 packets of one flow
    }
    const flow_report r = exporter_->report();
    EXPECT_EQ(r.sampled_out, 300u);
    EXPECT_EQ(r.created, 1u);
    EXPECT_EQ(stage_->table().live(), 1u);
}

TEST_F(flow_stage_test, random_sampling_counts_about_one_packet_in_n) {
    flow_config c;
    c.sampling = 10;
    c.sampling_random = true;
    make(c);
    std::vector<bytes> frames;
    for (uint16_t p = 0; p < 50; ++p) {
        frames.push_back(udp_frame(p));
    }
    for (int k = 0; k < 200; ++k) {
        run(frames);  // 10,000 packets
    }
    const flow_report r = exporter_->report();
    // Binomial(10000, 0.1): mean 1000, sd 30; 6 sd either side.
    EXPECT_GT(10'000 - r.sampled_out, 820u);
    EXPECT_LT(10'000 - r.sampled_out, 1180u);
}

TEST_F(flow_stage_test, generated_packets_are_no_flows) {
    make(flow_config{});
    run({udp_frame(1), udp_frame(2), udp_frame(3)}, {false, true, false});
    EXPECT_EQ(exporter_->report().created, 2u);
}

TEST_F(flow_stage_test, a_full_ring_loses_records_with_a_count_and_finish_sends_the_rest) {
    collectors::udp_sink collector;
    flow_config c;
    c.ring_size = 64;
    c.inactive_timeout = 1;
    c.collectors.push_back({"127.0.0.1", collector.port(), flow_protocol::netflow_v5, {}});
    make(c);
    std::vector<bytes> frames;
    for (uint16_t p = 0; p < 200; ++p) {
        frames.push_back(udp_frame(p));
        if (frames.size() == 50) {
            run(frames);
            frames.clear();
        }
    }
    EXPECT_EQ(exporter_->report().live, 200u);
    // Two seconds on: the idle pass ends all 200; the ring takes 64 (the
    // exporter does not poll meanwhile), the rest are lost, counted.
    const uint64_t later = rte_get_tsc_cycles() + 2 * rte_get_tsc_hz();
    for (int k = 0; k < 100; ++k) {
        stage_->idle(later + static_cast<uint64_t>(k) * rte_get_tsc_hz());
    }
    flow_report r = exporter_->report();
    EXPECT_EQ(r.live, 0u);
    EXPECT_EQ(r.queued, 64u);
    EXPECT_EQ(r.lost, 136u);
    EXPECT_TRUE(ledger_holds(r));
    exporter_->poll(rte_get_tsc_cycles());
    r = exporter_->report();
    EXPECT_EQ(r.exported, 64u);
    EXPECT_EQ(r.queued, 0u);
    EXPECT_TRUE(ledger_holds(r));
    // New flows, then the shutdown: finish() sends them all, ring or not.
    for (uint16_t p = 1000; p < 1100; ++p) {
        frames.push_back(udp_frame(p));
        if (frames.size() == 50) {
            run(frames);
            frames.clear();
        }
    }
    exporter_->finish();
    r = exporter_->report();
    EXPECT_EQ(r.live, 0u);
    EXPECT_EQ(r.exported, 164u);
    EXPECT_TRUE(ledger_holds(r));
    ASSERT_EQ(r.collectors.size(), 1u);
    EXPECT_EQ(r.collectors[0].records, 164u);
    EXPECT_EQ(v5_flows(collector), 164u) << "every record sent reached the socket";
}

}  // namespace
}  // namespace dpdk_app
