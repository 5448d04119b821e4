// What the packet fuzz targets share: EAL in-process (no hugepages, no PCI,
// no shared files, one lcore), an mbuf pool with the packet_meta private area, two
// ports on rte_rings (net_ring_fz0, net_ring_fz1) and a configuration's
// whole chain run as one segment on them, the way the default placement runs
// it on one lcore: RX from both ports, the stages, TX. After every input the
// caller checks the ledger (check_ledger): every packet received is
// forwarded, dropped with a reason, consumed or held by the slow path, and
// every packet generated is sent or dropped. A broken invariant aborts with
// the counters, which libFuzzer reports as a crash with the input.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "config/config.hpp"
#include "io/port.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"
#include "pipeline/segment.hpp"
#include "respond/slow_path.hpp"

namespace dpdk_app::fuzz {

// Aborts the process with a message (libFuzzer then saves the input).
[[noreturn]] void fail(const std::string& why);

// Starts EAL once per process: --no-pci --no-huge --no-shconf and a file
// prefix of its own, lcore 0 on any CPU this process may use (the machine
// is shared), DPDK's log at errors only; then the pools and the ports.
// Aborts when it cannot.
void start_eal();

// The packet pool: pool_mbufs mbufs of RTE_MBUF_DEFAULT_BUF_SIZE with the
// packet_meta private area and no per-lcore cache, so its free count is
// exact between inputs.
inline constexpr unsigned pool_mbufs = 1023;
rte_mempool* packet_pool();
// The resolver's control pool (ARP requests, neighbour solicitations).
inline constexpr unsigned control_mbufs = 255;
rte_mempool* control_pool();

// The two ring ports, started with one queue each. Port ids 0 and 1.
inline constexpr uint16_t fuzz_ports = 2;
struct ring_port {
    uint16_t id = 0;
    std::string name;        // "net_ring_fz0", "net_ring_fz1": what the configurations name
    rte_ring* rx = nullptr;  // the harness enqueues here, the port's RX reads
    rte_ring* tx = nullptr;  // the port's TX writes here, the harness dequeues
};
const ring_port& port(uint16_t id);

// How one frame is laid out in mbufs: the data length of each segment in
// turn (the rest of the frame in further segments, each filled to its
// tailroom), the first segment's headroom and the RX offload flags a NIC
// would set (RTE_MBUF_F_RX_IP_CKSUM_*).
struct frame_layout {
    std::vector<std::size_t> segments;
    uint16_t headroom = RTE_PKTMBUF_HEADROOM;
    uint64_t ol_flags = 0;
};
// An mbuf (chain) from pool holding frame, m->port = in_port. Aborts when
// the pool is empty (a leak of an earlier input).
rte_mbuf* make_frame(rte_mempool* pool, std::span<const uint8_t> frame, uint16_t in_port,
                     const frame_layout& layout);
// The frame of m, linearised.
std::vector<uint8_t> frame_bytes(const rte_mbuf* m);
// The bytes as hex, for messages about a frame.
std::string hex(std::span<const uint8_t> bytes);
// Frees every mbuf and empties the vector.
void free_all(std::vector<rte_mbuf*>& pkts);

// The input of a packet target: four control bytes, then the frame.
//   byte 0: bits 0-1 which chain (the target's choice), bit 2 its stages
//           kept apart (pipeline.fuse = false), bit 3 arriving on port 1
//           (else 0), bits 4-5 the mbufs: one segment, two, three, or two
//           copies in one burst (one segment, then three), bits 6-7 the RX
//           IP checksum flag a NIC sets: unknown, good, bad, none;
//   bytes 1, 2: where the frame is split into segments;
//   byte 3: the first segment's headroom, rounded down to even (128 and
//           up: the default, 128).
// Every byte string is an input: a short one is a frame of its own bytes
// after the defaults.
struct packet_input {
    unsigned chain = 0;
    bool apart = false;
    uint16_t in_port = 0;
    unsigned layout = 0;
    uint64_t cksum_flags = 0;
    uint8_t split_a = 0;
    uint8_t split_b = 0;
    uint16_t headroom = RTE_PKTMBUF_HEADROOM;
    std::span<const uint8_t> frame;
};
inline constexpr std::size_t packet_input_head = 4;
packet_input decode_input(const uint8_t* data, std::size_t size);
// The mbufs of an input, from pool (one, or two for the two-copy layout).
std::vector<rte_mbuf*> input_mbufs(const packet_input& in, rte_mempool* pool);

// What came out of a chain for one input.
struct chain_output {
    std::vector<rte_mbuf*> sent;  // from the TX rings, in order per port (m->port: the port)
    std::vector<bool> generated;  // per sent packet
    std::vector<rte_mbuf*> held;  // punted to the slow path, when run() was asked to take them
};

// A configuration's chain twice, as two segments on the ring ports sharing
// its generation and slow path: fused (the default) and with its stages
// apart (pipeline.fuse = false). The route tables of one generation take
// about 70 MB: one per configuration, not per segment.
class fuzz_chain {
  public:
    // The chain of a configuration (TOML text, checked as --check-config
    // does). Aborts when it cannot be built: the harness is wrong, not the
    // input.
    static std::unique_ptr<fuzz_chain> create(std::string_view name, std::string_view toml);
    ~fuzz_chain();
    fuzz_chain(const fuzz_chain&) = delete;
    fuzz_chain& operator=(const fuzz_chain&) = delete;

    // Puts pkts on in_port's RX ring, steps the fused segment (or, apart,
    // the other) until it took them, and returns what it sent (the caller
    // frees it). take_punts: also
    // what the stages punted to the control thread (the caller frees it:
    // counted as taken by the slow path); else it stays on the punt ring
    // for a resolver.
    chain_output run(std::span<rte_mbuf* const> pkts, uint16_t in_port, bool apart,
                     bool take_punts);
    // One more step of the fused segment with nothing received: sends what
    // the control thread put on the inject ring. Returns what was sent.
    chain_output flush_injected();

    const app_config& config() const noexcept { return config_; }
    slow_path& slow() noexcept { return *slow_; }
    const generation_store& generations() const noexcept { return *store_; }

    // Checks rx = forwarded + dropped + consumed + punted + held and
    // generated = generated_sent + generated_dropped over the segment and
    // the slow path, the per-stage counts (each stage got what the one
    // before it passed on), and that both pools are full again: call it
    // once the caller freed what it was given and no resolver holds
    // packets. Aborts when one does not hold.
    void check_ledger(const char* where) const;

  private:
    fuzz_chain() = default;
    chain_output collect(const segment& seg, uint64_t tx_before);

    app_config config_;
    std::vector<port_plan> plans_;
    std::unique_ptr<slow_path> slow_;
    std::unique_ptr<generation_store> store_;
    std::unique_ptr<segment> segments_[2];  // fused, apart
    std::atomic<bool> stop_rx_{false};
    uint64_t taken_punts_ = 0;  // punted packets run() handed to the caller
    uint64_t injected_ = 0;     // packets flush_injected() had the fused segment send
};

// Pieces of the configurations the targets run (TOML; the text is in
// harness.cpp). Port 0 has 192.0.2.1/24 and 2001:db8:1::1/64; in the router
// and the one-armed bridge port 1 has 198.51.100.1/24 and 2001:db8:2::1/64
// with an MTU of 1400. The router routes 203.0.113.0/24 and 2001:db8:99::/48
// via static neighbours, 100.64.0.0/10 and 2001:db8:77::/48 via gateways
// without a neighbour entry (resolved by ARP / NDP).
enum class topology { router, bridge_pair, bridge_one_armed };
// The interfaces' MACs (mac = "..." in topology_toml), by port id.
inline constexpr std::array<std::array<uint8_t, 6>, fuzz_ports> interface_mac = {{
    {0x02, 0, 0, 0, 0, 0x02},
    {0x02, 0, 0, 0, 0x01, 0x01},
}};
// [dataplane] and [[port]]s, [[interface]]s, [[route]]s, [[neighbor]]s;
// port_police: the policer port 0's packets pass (empty: none).
std::string topology_toml(topology t, std::string_view port_police = {});
// [firewall] with a rule of each action (a reject for UDP and TCP port 7),
// an exact-match table, a per-source policer on a rule ("ssh") and the
// policer "edge" for a port; stateful: connection tracking, established
// and related accepted and invalid dropped by the first rules.
std::string firewall_toml(bool stateful);
// [responder] with error rate limits no fuzz run reaches: every error the
// rules allow is built.
std::string unlimited_responder_toml();

// Packets taken from a chain: segments' chain and lengths consistent (the
// sum of data_len is pkt_len, nb_segs counts them). Aborts otherwise.
void check_mbuf_chain(const rte_mbuf* m, const char* what);

}  // namespace dpdk_app::fuzz
