// Router-mode route tables at Internet scale: rte_lpm / rte_lpm6 bulk
// lookups on tables built by dpdk_app::fib::build (the app's loader) from
// 1,000,000 random IPv4 and 100,000 random IPv6 routes, and the time and
// memory that loading such a table takes (routes file text -> routes ->
// resolve_router -> fib::build).
//
// The full tables take ~350 MiB of EAL memory (rte_lpm's and rte_lpm6's
// tbl24 are 64 MiB each, the IPv6 tbl8 groups ~200 MiB), the rte_fib
// comparison ~460 MiB (one of the two at a time): main.cpp gives EAL -m 1024
// by default.
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <rte_fib.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

#include "common.hpp"
#include "config/config.hpp"
#include "route/fib.hpp"
#include "config/ip.hpp"

namespace dpdk_app_bench {
namespace {

using dpdk_app::ip_address;
using dpdk_app::ip_prefix;

constexpr unsigned lookup_burst = 32;            // as route_stage: one RX burst
constexpr std::size_t address_count = 1u << 20;  // lookup keys cycled through
constexpr uint64_t seed = 20261125;

ip_address v4(uint32_t host) {
    ip_address a;
    a.bytes[0] = static_cast<uint8_t>(host >> 24);
    a.bytes[1] = static_cast<uint8_t>(host >> 16);
    a.bytes[2] = static_cast<uint8_t>(host >> 8);
    a.bytes[3] = static_cast<uint8_t>(host);
    return a;
}

// Random IPv4 prefixes with a BGP-like length mix: /24 59 %, /20-/23 30 %,
// /16-/19 9 %, /8-/15 1 %, /25-/32 1 %; unicast first octets only (1-223
// without 127), none equal to the gateway subnet 192.0.2.0/24 or its
// addresses.
std::vector<ip_prefix> random_routes4(std::size_t n, std::mt19937_64& rng) {
    std::vector<ip_prefix> out;
    out.reserve(n);
    std::unordered_set<uint64_t> seen;
    seen.reserve(n * 2);
    seen.insert(uint64_t{0xc0000200} << 6 | 24);
    seen.insert(uint64_t{0xc0000201} << 6 | 32);
    std::uniform_int_distribution<uint32_t> pct(0, 9999);
    auto in = [&](unsigned lo, unsigned hi) {
        return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
    };
    while (out.size() < n) {
        const uint32_t p = pct(rng);
        unsigned len;
        if (p < 5900) {
            len = 24;
        } else if (p < 8900) {
            len = in(20, 23);
        } else if (p < 9800) {
            len = in(16, 19);
        } else if (p < 9900) {
            len = in(8, 15);
        } else {
            len = in(25, 32);
        }
        uint32_t addr = static_cast<uint32_t>(rng());
        const uint32_t first = addr >> 24;
        if (first == 0 || first == 127 || first >= 224) {
            continue;
        }
        addr &= len == 32 ? ~0u : ~(~0u >> len);
        if (!seen.insert(uint64_t{addr} << 6 | len).second) {
            continue;
        }
        out.push_back(ip_prefix{v4(addr), static_cast<uint8_t>(len)});
    }
    return out;
}

// Random IPv6 prefixes of /32 to /64 (/48 half of them): half under
// 2001:db8::/32, half under the RIR blocks 2400::/12, 2600::/12, 2800::/12,
// 2a00::/12 and 2c00::/12.
std::vector<ip_prefix> random_routes6(std::size_t n, std::mt19937_64& rng) {
    std::vector<ip_prefix> out;
    out.reserve(n);
    std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> seen;
    std::uniform_int_distribution<uint32_t> pct(0, 99);
    auto in = [&](unsigned lo, unsigned hi) {
        return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
    };
    static constexpr uint8_t rir[] = {0x24, 0x26, 0x28, 0x2a, 0x2c};
    while (out.size() < n) {
        const uint32_t p = pct(rng);
        unsigned len;
        if (p < 50) {
            len = 48;
        } else if (p < 55) {
            len = 32;
        } else if (p < 80) {
            len = in(33, 47);
        } else {
            len = in(49, 64);
        }
        ip_address a;
        a.v6 = true;
        for (unsigned i = 0; i < 8; ++i) {
            a.bytes[i] = static_cast<uint8_t>(rng());
        }
        if ((rng() & 1) != 0) {
            a.bytes[0] = 0x20;
            a.bytes[1] = 0x01;
            a.bytes[2] = 0x0d;
            a.bytes[3] = 0xb8;
        } else {
            a.bytes[0] = rir[rng() % std::size(rir)];
            a.bytes[1] &= 0x0f;
        }
        const ip_prefix pfx = dpdk_app::masked(a, static_cast<uint8_t>(len));
        if (!seen.emplace(pfx.address.bytes, pfx.length).second) {
            continue;
        }
        out.push_back(pfx);
    }
    return out;
}

// A random address inside a random one of the routes: every lookup hits.
uint32_t host_in4(const ip_prefix& p, std::mt19937_64& rng) {
    const uint32_t host_bits = p.length == 32 ? 0u : ~0u >> p.length;
    return p.address.v4_host() | (static_cast<uint32_t>(rng()) & host_bits);
}

std::array<uint8_t, 16> host_in6(const ip_prefix& p, std::mt19937_64& rng) {
    std::array<uint8_t, 16> a = p.address.bytes;
    for (unsigned bit = p.length; bit < 128; ++bit) {
        if ((rng() & 1) != 0) {
            a[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
        }
    }
    return a;
}

// One egress port "p0" with a gateway on 192.0.2.0/24 and fd00::/64.
const ip_address gateway4 = v4(0xc0000202);  // 192.0.2.2
ip_address gateway6() {
    ip_address a;
    a.v6 = true;
    a.bytes[0] = 0xfd;
    a.bytes[15] = 2;
    return a;
}

std::map<std::string, dpdk_app::fib_port> one_port() {
    dpdk_app::fib_port p;
    p.id = 0;
    p.mac.addr_bytes[0] = 0x02;
    p.mac.addr_bytes[5] = 0x01;
    return {{"p0", p}};
}

dpdk_app::router_config one_interface() {
    dpdk_app::router_config rc;
    dpdk_app::interface_config i;
    i.port = "p0";
    std::string why;
    i.addresses.push_back(*dpdk_app::parse_ip_prefix("192.0.2.1/24", true, why));
    i.addresses.push_back(*dpdk_app::parse_ip_prefix("fd00::1/64", true, why));
    rc.interfaces.push_back(i);
    dpdk_app::neighbor_config n4;
    n4.address = gateway4;
    n4.mac = {0x02, 0, 0, 0, 0x0a, 0x02};
    dpdk_app::neighbor_config n6;
    n6.address = gateway6();
    n6.mac = {0x02, 0, 0, 0, 0x0a, 0x06};
    rc.neighbors = {n4, n6};
    return rc;
}

struct route_set {
    std::vector<ip_prefix> v4;
    std::vector<ip_prefix> v6;
};

route_set make_routes(std::size_t n4, std::size_t n6) {
    std::mt19937_64 rng(seed + n4 * 7 + n6);
    route_set s;
    s.v4 = random_routes4(n4, rng);
    s.v6 = random_routes6(n6, rng);
    return s;
}

// The routes as fib::build gets them: every one via the gateway on p0.
dpdk_app::resolved_router resolved(const route_set& s) {
    dpdk_app::resolved_router r;
    r.routes.reserve(s.v4.size() + s.v6.size());
    const ip_address g6 = gateway6();
    for (const auto& p : s.v4) {
        r.routes.push_back({p, dpdk_app::next_hop_kind::forward, "p0", gateway4});
    }
    for (const auto& p : s.v6) {
        r.routes.push_back({p, dpdk_app::next_hop_kind::forward, "p0", g6});
    }
    r.neighbors.push_back({gateway4, {0x02, 0, 0, 0, 0x0a, 0x02}, "p0"});
    r.neighbors.push_back({g6, {0x02, 0, 0, 0, 0x0a, 0x06}, "p0"});
    return r;
}

// One table set at a time (~350 MiB of EAL memory at full size), kept
// across the benchmarks that use the same sizes.
struct table_set {
    std::size_t n4 = 0;
    std::size_t n6 = 0;
    route_set routes;
    std::unique_ptr<dpdk_app::fib> fib;
    std::string error;  // set when building fib failed
};

uint64_t g_generation = 1000;

// Never destroyed: its fib must not outlive EAL, which main() cleans up
// before static destructors would run.
table_set& cached_tables() {
    static table_set& t = *new table_set;
    return t;
}

// The cached set with these sizes, its routes generated, its fib not
// necessarily built.
table_set& route_tables(std::size_t n4, std::size_t n6) {
    table_set& t = cached_tables();
    if (t.n4 != n4 || t.n6 != n6) {
        t.fib.reset();
        t.error.clear();
        t.routes = make_routes(n4, n6);
        t.n4 = n4;
        t.n6 = n6;
    }
    return t;
}

// The neighbour table every benchmark fib points into (it outlives them).
dpdk_app::neighbor_table& bench_neighbors() {
    static std::unique_ptr<dpdk_app::neighbor_table> t = [] {
        std::string error;
        auto n = dpdk_app::neighbor_table::create(4096, "bench", error);
        if (!n) {
            std::fprintf(stderr, "neighbour table: %s\n", error.c_str());
            std::abort();
        }
        return n;
    }();
    return *t;
}

table_set& tables(std::size_t n4, std::size_t n6) {
    table_set& t = route_tables(n4, n6);
    if (!t.fib && t.error.empty()) {
        t.fib = dpdk_app::fib::build(resolved(t.routes), one_port(), ++g_generation,
                                     bench_neighbors(), true, t.error);
        if (!t.fib && t.error.empty()) {
            t.error = "fib::build failed";
        }
    }
    return t;
}

// Bytes allocated from the EAL heaps of every socket.
uint64_t eal_heap_bytes() {
    uint64_t total = 0;
    for (unsigned i = 0; i < rte_socket_count(); ++i) {
        rte_malloc_socket_stats s{};
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0) {
            total += s.heap_allocsz_bytes;
        }
    }
    return total;
}

// Resident set size of this process (/proc/self/statm), bytes.
uint64_t rss_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t size = 0;
    uint64_t resident = 0;
    in >> size >> resident;
    return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr double mib = 1024.0 * 1024.0;

// (c) Loading a 1M IPv4 + 100k IPv6 table the way dpdk-app does it from a
// routes file: parse_routes_text ("PREFIX via ADDR" lines), resolve_router
// (egress and duplicate checks), fib::build (rte_lpm / rte_lpm6 / neighbour
// tables). One iteration; the counters are the figures, the benchmark's own
// time is their sum plus the generation of the input.
void BM_fib_load(benchmark::State& state) {
    const auto n4 = static_cast<std::size_t>(state.range(0));
    const auto n6 = static_cast<std::size_t>(state.range(1));
    table_set& cache = cached_tables();
    cache.fib.reset();  // one table set in memory at a time
    cache.n4 = 0;
    for (auto _ : state) {
        state.PauseTiming();
        route_set s = make_routes(n4, n6);
        std::string text;
        text.reserve((n4 + n6) * 40);
        for (const auto& p : s.v4) {
            text += dpdk_app::to_string(p) + " via 192.0.2.2\n";
        }
        for (const auto& p : s.v6) {
            text += dpdk_app::to_string(p) + " via fd00::2\n";
        }
        dpdk_app::router_config rc = one_interface();
        std::vector<dpdk_app::config_error> errors;
        const uint64_t rss0 = rss_bytes();
        state.ResumeTiming();

        auto t0 = std::chrono::steady_clock::now();
        dpdk_app::parse_routes_text(text, "routes.txt", rc.routes, errors);
        const double parse_s = seconds_since(t0);
        const uint64_t rss_parsed = rss_bytes();
        t0 = std::chrono::steady_clock::now();
        const dpdk_app::resolved_router rr = dpdk_app::resolve_router(rc, "bench", errors);
        const double resolve_s = seconds_since(t0);
        if (!errors.empty()) {
            state.SkipWithError(("routes rejected: " + errors.front().to_string()).c_str());
            return;
        }
        std::string error;
        const uint64_t heap0 = eal_heap_bytes();
        const uint64_t rss1 = rss_bytes();
        t0 = std::chrono::steady_clock::now();
        auto f = dpdk_app::fib::build(rr, one_port(), ++g_generation, bench_neighbors(), true,
                                      error);
        const double build_s = seconds_since(t0);
        if (!f) {
            state.SkipWithError(("fib::build: " + error).c_str());
            return;
        }
        const uint64_t heap1 = eal_heap_bytes();
        const uint64_t rss2 = rss_bytes();
        state.counters["parse_s"] = parse_s;
        state.counters["resolve_s"] = resolve_s;
        state.counters["build_s"] = build_s;
        state.counters["build4_routes"] = static_cast<double>(f->routes4());
        state.counters["build6_routes"] = static_cast<double>(f->routes6());
        // EAL heap taken by the tables (rte_lpm, rte_lpm6, neighbour hashes).
        state.counters["eal_heap_MiB"] = static_cast<double>(heap1 - heap0) / mib;
        // Pages the build touched (fewer than the heap: not all get written).
        state.counters["build_rss_MiB"] = static_cast<double>(rss2 - rss1) / mib;
        // What the parsed routes (route_config, one std::string each) hold.
        state.counters["parsed_rss_MiB"] = static_cast<double>(rss_parsed - rss0) / mib;
        // The lookup benchmarks below use this table set.
        state.PauseTiming();
        cache.fib = std::move(f);
        cache.routes = std::move(s);
        cache.n4 = n4;
        cache.n6 = n6;
        cache.error.clear();
        state.ResumeTiming();
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    state.counters["maxrss_MiB"] = static_cast<double>(ru.ru_maxrss) * 1024.0 / mib;
}
BENCHMARK(BM_fib_load)
    ->Args({1000000, 100000})
    ->ArgNames({"v4", "v6"})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// (a) fib::lookup4_bulk (rte_fib_lookup_bulk, DIR-24-8) over bursts of 32 keys: "routed" keys lie
// inside random routes of the table (all hit), "uniform" keys are uniformly random 32-bit addresses
// (the share that hits is reported as hit_ratio).
void BM_fib4_lookup_bulk(benchmark::State& state) {
    const auto n4 = static_cast<std::size_t>(state.range(0));
    const bool uniform = state.range(1) != 0;
    table_set& t = tables(n4, n4 >= 1000000 ? 100000 : 1000);
    if (!t.fib) {
        state.SkipWithError(("fib::build: " + t.error).c_str());
        return;
    }
    std::mt19937_64 rng(seed ^ 0x4444);
    std::vector<uint32_t> keys(address_count);
    std::uniform_int_distribution<std::size_t> pick(0, t.routes.v4.size() - 1);
    for (auto& k : keys) {
        k = uniform ? static_cast<uint32_t>(rng()) : host_in4(t.routes.v4[pick(rng)], rng);
    }
    const dpdk_app::fib& fib = *t.fib;
    std::array<int32_t, lookup_burst> hops{};
    uint64_t hits = 0;
    uint64_t lookups = 0;
    std::size_t at = 0;
    const tsc_timer timer;
    for (auto _ : state) {
        // 32 bursts per iteration keeps the timer overhead out.
        for (unsigned b = 0; b < 32; ++b) {
            fib.lookup4_bulk(&keys[at], hops.data(), lookup_burst);
            for (unsigned i = 0; i < lookup_burst; ++i) {
                hits += hops[i] >= 0;
            }
            at = (at + lookup_burst) & (address_count - 1);
        }
        lookups += 32 * lookup_burst;
    }
    report_items(state, timer.elapsed(), lookups, "cyc_per_lookup");
    state.counters["hit_ratio"] =
        lookups > 0 ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0;
    state.counters["routes"] = static_cast<double>(t.fib->routes4());
}

// (b) rte_lpm6_lookup_bulk_func, the same way; "uniform" keys are uniformly
// random addresses in 2001:db8::/32 (the rest of 2000::/3 holds few routes).
void BM_lpm6_lookup_bulk(benchmark::State& state) {
    const auto n6 = static_cast<std::size_t>(state.range(0));
    const bool uniform = state.range(1) != 0;
    table_set& t = tables(n6 >= 100000 ? 1000000 : 1000, n6);
    if (!t.fib) {
        state.SkipWithError(("fib::build: " + t.error).c_str());
        return;
    }
    std::mt19937_64 rng(seed ^ 0x6666);
    constexpr std::size_t count6 = address_count / 4;  // 4 MiB of keys, as for IPv4
    std::vector<std::array<uint8_t, 16>> keys(count6);
    std::uniform_int_distribution<std::size_t> pick(0, t.routes.v6.size() - 1);
    for (auto& k : keys) {
        if (uniform) {
            // Uniform over 2001:db8::/32, which holds half of the routes.
            for (auto& byte : k) {
                byte = static_cast<uint8_t>(rng());
            }
            k[0] = 0x20;
            k[1] = 0x01;
            k[2] = 0x0d;
            k[3] = 0xb8;
        } else {
            k = host_in6(t.routes.v6[pick(rng)], rng);
        }
    }
    rte_lpm6* lpm = t.fib->lpm6();
    std::array<int32_t, lookup_burst> hops{};
    uint64_t hits = 0;
    uint64_t lookups = 0;
    std::size_t at = 0;
    const tsc_timer timer;
    for (auto _ : state) {
        for (unsigned b = 0; b < 32; ++b) {
            auto* ips = reinterpret_cast<uint8_t(*)[RTE_LPM6_IPV6_ADDR_SIZE]>(keys[at].data());
            rte_lpm6_lookup_bulk_func(lpm, ips, hops.data(), lookup_burst);
            for (unsigned i = 0; i < lookup_burst; ++i) {
                hits += hops[i] >= 0;
            }
            at = (at + lookup_burst) & (count6 - 1);
        }
        lookups += 32 * lookup_burst;
    }
    report_items(state, timer.elapsed(), lookups, "cyc_per_lookup");
    state.counters["hit_ratio"] =
        lookups > 0 ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0;
    state.counters["routes"] = static_cast<double>(t.fib->routes6());
}

// Full tables first, then small ones (1,000 routes, all in cache) for
// comparison; the table set is rebuilt only when the sizes change.
BENCHMARK(BM_fib4_lookup_bulk)
    ->Args({1000000, 0})
    ->Args({1000000, 1})
    ->ArgNames({"routes", "uniform"});
BENCHMARK(BM_lpm6_lookup_bulk)
    ->Args({100000, 0})
    ->Args({100000, 1})
    ->ArgNames({"routes", "uniform"});
BENCHMARK(BM_fib4_lookup_bulk)->Args({1000, 0})->ArgNames({"routes", "uniform"});
BENCHMARK(BM_lpm6_lookup_bulk)->Args({1000, 0})->ArgNames({"routes", "uniform"});

}  // namespace
}  // namespace dpdk_app_bench
