// The firewall's compiled rule set: the ordered [firewall] rules as two
// rte_acl contexts (IPv4, IPv6), first match wins, built off the fast path
// into a generation. A packet's classification key is built from its
// packet_meta and headers (acl_key4 / acl_key6), classified in bulk per
// burst.
//
// "count" rules do not end the search: each is in a category of its own
// (rte_acl returns one match per category), the terminal rules (accept,
// drop) are all in category 0. A count rule counts a packet when it matches
// and comes before the packet's terminal rule.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <string>
#include <unordered_map>
#include <vector>

#include <rte_acl.h>
#include <rte_mbuf.h>

#include "classify/conntrack.hpp"
#include "classify/exact.hpp"
#include "config/config.hpp"
#include "io/port.hpp"
#include "packet/meta.hpp"
#include "pipeline/counters.hpp"

namespace dpdk_app {

// rte_acl input: the first field is one byte, the rest in groups of four
// bytes; multi-byte fields in network byte order.
struct acl_key4 {
    uint8_t proto;
    uint8_t pad0[3];
    uint32_t src;
    uint32_t dst;
    uint16_t sport;  // ICMP: type
    uint16_t dport;  // ICMP: code
    uint8_t tcp_flags;
    uint8_t dscp;
    uint8_t frag;      // acl_frag_* bits
    uint8_t ct_state;  // one ct_* bit with connection tracking, else 0
    uint16_t in_port;
    uint16_t vlan;
};
static_assert(sizeof(acl_key4) == 24);

struct acl_key6 {
    uint8_t proto;
    uint8_t pad0[3];
    uint32_t src[4];
    uint32_t dst[4];
    uint16_t sport;
    uint16_t dport;
    uint8_t tcp_flags;
    uint8_t dscp;
    uint8_t frag;
    uint8_t ct_state;
    uint16_t in_port;
    uint16_t vlan;
};
static_assert(sizeof(acl_key6) == 48);

inline constexpr uint8_t acl_frag_fragment = 1;   // part of a fragmented datagram
inline constexpr uint8_t acl_frag_non_first = 2;  // offset != 0: no L4 header

// Most count rules a rule set may have (one rte_acl category each; the
// terminal rules use category 0).
inline constexpr unsigned max_count_rules = RTE_ACL_MAX_CATEGORIES - 1;

// Writes the key of an IPv4 / IPv6 packet that the parse stage accepted.
void acl_key_of(const rte_mbuf* m, const packet_meta& pm, acl_key4& k) noexcept;
void acl_key_of(const rte_mbuf* m, const packet_meta& pm, acl_key6& k) noexcept;

// A packet's verdict: a rule's index, or one of these.
inline constexpr int32_t verdict_default = -1;   // no terminal rule matched: the default policy
inline constexpr int32_t verdict_classify = -2;  // the rules must be consulted (verdict_by_state)

struct acl_rule_info {
    std::string id;
    std::string comment;
    firewall_action action;
};

// Hits of one rule on one lane (written by that lane's classify stage only).
struct rule_hits {
    counter packets;
    counter bytes;
};

class acl_table {
  public:
    ~acl_table();
    acl_table(const acl_table&) = delete;
    acl_table& operator=(const acl_table&) = delete;

    // Compiles a rule set; ports resolves in_port names, lanes sizes the
    // hit counters. police_marks: per rule, what the classify stage writes
    // to packet_meta::police_mark of a packet the rule accepts (0: nothing;
    // empty: no rule polices). Returns nullptr and appends the reasons on
    // failure.
    static std::unique_ptr<acl_table> build(const firewall_config& config,
                                            const std::vector<port_plan>& ports, unsigned lanes,
                                            std::vector<std::string>& errors,
                                            std::vector<uint32_t> police_marks = {});

    // rte_acl contexts; nullptr when no rule applies to the family.
    const rte_acl_ctx* ctx4() const noexcept { return ctx4_; }
    const rte_acl_ctx* ctx6() const noexcept { return ctx6_; }
    // Results per packet of rte_acl_classify: 1 (no count rules) or a
    // multiple of 4. Result 0 is the terminal rule, result c > 0 the count
    // rule of category c; each is a rule's index + 1, or 0 for no match.
    uint32_t categories() const noexcept { return categories_; }
    firewall_action default_action() const noexcept { return default_; }
    // Whether packets are matched against connection state, and how
    // connections time out (connection_table: the lane's, outside the
    // generation).
    bool tracks_connections() const noexcept { return tracks_; }
    const conntrack_policy& conntrack() const noexcept { return conntrack_; }
    // With connection tracking, the verdict of every packet of a family in
    // one connection state (one ct_* bit), when the rules decide it on the
    // state alone: the first rule that can match such a packet is a
    // terminal rule that matches on nothing but the state (and the family),
    // e.g. "state = [established, related], accept" at the top, or no rule
    // can match it (verdict_default). Otherwise verdict_classify. The
    // classify stage skips rte_acl for such packets.
    int32_t verdict_by_state(bool v6, uint8_t state) const noexcept {
        return by_state_[v6 ? 1 : 0][static_cast<unsigned>(__builtin_ctz(state | 0x80u)) & 7u];
    }
    const std::vector<acl_rule_info>& rules() const noexcept { return rules_; }
    // rte_malloc bytes the contexts took when built.
    std::size_t memory_bytes() const noexcept { return memory_; }
    unsigned lanes() const noexcept { return lanes_; }

    // The only mutable part of a generation: per-lane hit counters, one
    // row per lane (rules().size() rules, then the default policy), each
    // row written by its lane alone. The control thread reads them, and
    // folds them into its totals once the generation is retired.
    rule_hits* hits(unsigned lane) const noexcept { return &hits_[lane * row()]; }
    // Rows are whole cache lines (4 x 16 bytes) on a cache-line aligned
    // block: no two lanes write one line.
    std::size_t row() const noexcept { return (rules_.size() + 1 + 3) & ~std::size_t{3}; }
    // The action of rule i, from a compact array (the per-packet lookup).
    firewall_action action(std::size_t i) const noexcept { return actions_[i]; }
    // Whether any rule polices, and the police mark of rule i (0: none).
    bool polices() const noexcept { return !police_marks_.empty(); }
    uint32_t police_mark(std::size_t i) const noexcept { return police_marks_[i]; }

  private:
    acl_table() = default;

    rte_acl_ctx* ctx4_ = nullptr;
    rte_acl_ctx* ctx6_ = nullptr;
    uint32_t categories_ = 1;
    unsigned lanes_ = 1;
    firewall_action default_ = firewall_action::accept;
    bool tracks_ = false;
    conntrack_policy conntrack_;
    // [family][bit index of the state]; index 7 (state 0): verdict_classify.
    std::array<std::array<int32_t, 8>, 2> by_state_{};
    std::vector<acl_rule_info> rules_;
    std::size_t memory_ = 0;
    std::vector<firewall_action> actions_;  // of rules_, in order
    std::vector<uint32_t> police_marks_;    // of rules_, in order; empty: none polices
    static_assert(std::is_trivially_destructible_v<rule_hits>, "freed without destructors");
    struct aligned_delete {
        void operator()(rule_hits* p) const noexcept {
            ::operator delete[](p, std::align_val_t{RTE_CACHE_LINE_SIZE});
        }
    };
    std::unique_ptr<rule_hits[], aligned_delete> hits_;
};

// One rule's counters as reported: every lane summed, plus what earlier
// generations counted for a rule of the same id.
struct rule_report {
    std::string id;  // "" for a rule without id; "default" row: is_default
    std::string comment;
    firewall_action action;
    bool is_default = false;
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

// The exact-match table as reported.
struct exact_summary {
    uint64_t entries = 0;
    uint64_t memory_bytes = 0;
    exact_table::totals hits;
};

// The firewall's counters across reloads (control thread): when a
// generation is retired, the hits of its rules that have an id still in
// the next rule set, and of the default policy, carry over.
class firewall_totals {
  public:
    // old: the retired generation's table (after its grace period); next:
    // the one now in use (nullptr: no firewall any more).
    void retire(const acl_table& old, const acl_table* next);
    // The rules of current, in order, then the default policy.
    std::vector<rule_report> report(const acl_table& current) const;
    // The exact-match table's hits carry over while [firewall.exact] stays
    // (next != nullptr), whatever its entries.
    void retire(const exact_table& old, const exact_table* next);
    exact_table::totals report(const exact_table& current) const;

  private:
    struct totals {
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };
    std::unordered_map<std::string, totals> carried_;  // by id
    totals default_;
    exact_table::totals exact_;
};

// Checks of a [firewall] section that need the ports (without EAL): every
// in_port names a configured port, at most max_count_rules count rules.
void check_firewall(const app_config& config, std::vector<config_error>& errors);

}  // namespace dpdk_app
