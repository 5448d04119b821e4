// The responder on a ping flood: a 32-packet burst of 60-byte ICMP echo
// requests for the bridge's own address through the respond stage, answered
// in place. Every iteration first writes the requests back (8-byte stores,
// as net_pcap's copy leaves them); BM_respond_restore_only is that cost
// alone, to subtract.
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <memory>
#include <vector>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "common.hpp"
#include "frame_burst.hpp"
#include "io/port.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/pipeline.hpp"
#include "respond/respond_stage.hpp"
#include "respond/slow_path.hpp"
#include "pipeline/generation.hpp"
#include "route/fib.hpp"

namespace dpdk_app_bench {
namespace {

// 02:00:00:00:00:02 / 192.0.2.2 -> 02:00:00:00:00:01 / 192.0.2.1, ICMP echo
// request id 7, sequence seq, 18 bytes of payload: 60 bytes in all.
bench_frame echo_request(uint16_t seq) {
    bench_frame f{};
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    eth->dst_addr = {{2, 0, 0, 0, 0, 1}};
    eth->src_addr = {{2, 0, 0, 0, 0, 2}};
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(46);
    ip->packet_id = rte_cpu_to_be_16(seq);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 2));
    ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 1));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    icmp->icmp_ident = rte_cpu_to_be_16(7);
    icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
    std::memset(icmp + 1, 'p', 18);
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, 26));
    return f;
}

// count echo requests in mbufs, their metadata parsed (ok: all accepted).
struct echo_burst : frame_burst {
    explicit echo_burst(unsigned count) : frame_burst(requests(count)) {
        for (unsigned i = 0; ok && i < n; ++i) {
            parsed = parsed && !dpdk_app::parse_packet(pkts[i], *dpdk_app::meta_of(pkts[i]));
        }
        parsed = parsed && ok;
    }
    bool parsed = true;

  private:
    static std::vector<bench_frame> requests(unsigned count) {
        std::vector<bench_frame> f;
        for (unsigned i = 0; i < count; ++i) {
            f.push_back(echo_request(static_cast<uint16_t>(i)));
        }
        return f;
    }
};

std::map<std::string, dpdk_app::fib_port> one_interface() {
    dpdk_app::fib_port p;
    p.id = 0;
    p.mac = {{2, 0, 0, 0, 0, 1}};
    p.addr4.push_back(rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 1)));
    return {{"p0", p}};
}

void BM_respond_restore_only(benchmark::State& state) {
    echo_burst e(static_cast<unsigned>(state.range(0)));
    if (!e.parsed) {
        state.SkipWithError("cannot build the echo burst");
        return;
    }
    dpdk_app::burst b;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        e.restore(b);
        benchmark::DoNotOptimize(b);
        items += e.n;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
}
BENCHMARK(BM_respond_restore_only)->Arg(32);

// out_port: the burst's egress as the stage before leaves it (1: a two-port
// bridge, so the replies make egress per packet; 0: a one-armed appliance,
// the ping-flood loop).
void respond_echo4(benchmark::State& state, uint16_t out_port) {
    echo_burst e(static_cast<unsigned>(state.range(0)));
    std::string error;
    auto sp = dpdk_app::slow_path::create(1, 64, error);
    if (!e.parsed || !sp) {
        state.SkipWithError(("set-up failed: " + error).c_str());
        return;
    }
    auto f = dpdk_app::fib::build({}, one_interface(), 1, sp->neighbors(), false, error);
    auto g = std::make_unique<dpdk_app::generation>(1);
    g->add(std::move(f));
    dpdk_app::generation_store store(nullptr);
    store.publish(std::move(g), 0);
    dpdk_app::responder_settings settings;
    std::unique_ptr<dpdk_app::stage> s = std::make_unique<dpdk_app::respond_stage>(
        sp.get(), 0, settings, rte_get_tsc_hz());
    benchmark::DoNotOptimize(s);
    auto counters = std::make_unique<dpdk_app::segment_counters>();
    dpdk_app::burst b;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        e.restore(b);
        b.in_port = 0;  // as RX leaves a burst
        b.out_port = out_port;
        dpdk_app::stage_context ctx(*counters, store.current());
        s->process(b, ctx);
        ctx.free_discarded();
        if (b.count != e.n) {
            state.SkipWithError("not every request was answered");
            break;
        }
        items += e.n;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
}
void BM_respond_echo4(benchmark::State& state) {
    respond_echo4(state, 1);
}
BENCHMARK(BM_respond_echo4)->Arg(32);

void BM_respond_echo4_one_armed(benchmark::State& state) {
    respond_echo4(state, 0);
}
BENCHMARK(BM_respond_echo4_one_armed)->Arg(32);

}  // namespace
}  // namespace dpdk_app_bench
