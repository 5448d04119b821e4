// The firewall's exact-match table: [firewall.exact] parsing (each kind,
// IPv4 and IPv6, every error with its line:col, comments, duplicates, the
// file relative to the configuration), and exact_table lookups on parsed
// packets (each kind, the precedence flow > src > dst, misses, ports 0 and
// 65535, fragments, non-IP frames, bursts of 64 against a std::map oracle
// of 100,000 random entries) and its per-lane hit counters.
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "classify/acl.hpp"
#include "classify/exact.hpp"
#include "config/config.hpp"
#include "corpus.hpp"
#include "eal_env.hpp"
#include "firewall_util.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"

namespace dpdk_app {
namespace {

using namespace corpus;
using ::testing::HasSubstr;

using unit::messages;

// A configuration whose entries array holds lines, one element a line:
// element k (0-based) is at line 4 + k (+ the lines of extra), column 3.
std::string with_entries(const std::vector<std::string>& lines, const std::string& extra = "") {
    std::string text = "[firewall]\n[firewall.exact]\n" + extra + "entries = [\n";
    for (const auto& l : lines) {
        text += "  \"" + l + "\",\n";
    }
    return text + "]\n";
}

ip_address addr(const std::string& text) {
    auto a = parse_ip_address(text);
    EXPECT_TRUE(a) << text;
    return a.value_or(ip_address{});
}

// ---- configuration ---------------------------------------------------------------------

TEST(exact_config, reads_each_kind_in_both_families) {
    const auto r = parse_config(with_entries({
                                    "drop src 203.0.113.9",
                                    "accept flow tcp 192.0.2.1 40000 198.51.100.2 80",
                                    "drop dst 198.51.100.7 udp 53",
                                    "accept src 2001:db8::1 tcp 0",
                                    "drop dst 2001:db8::2",
                                    "accept flow 17 2001:db8::1 0 2001:db8::2 65535",
                                    "drop\tflow  icmp 10.0.0.1 0 10.0.0.2 0   # pings",
                                }),
                                "fw.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    ASSERT_TRUE(r.config.firewall && r.config.firewall->exact);
    const auto& x = *r.config.firewall->exact;
    EXPECT_FALSE(x.file);
    ASSERT_EQ(x.entries.size(), 7u);
    const auto& e = x.entries;

    EXPECT_EQ(e[0].action, firewall_action::drop);
    EXPECT_EQ(e[0].kind, exact_kind::src);
    EXPECT_EQ(e[0].src, addr("203.0.113.9"));
    EXPECT_FALSE(e[0].l4);
    EXPECT_EQ(e[0].where.line, 4u);
    EXPECT_EQ(e[0].where.column, 3u);
    EXPECT_FALSE(e[0].in_file);

    EXPECT_EQ(e[1].action, firewall_action::accept);
    EXPECT_EQ(e[1].kind, exact_kind::flow);
    EXPECT_TRUE(e[1].l4);
    EXPECT_EQ(e[1].proto, 6);
    EXPECT_EQ(e[1].src, addr("192.0.2.1"));
    EXPECT_EQ(e[1].sport, 40000);
    EXPECT_EQ(e[1].dst, addr("198.51.100.2"));
    EXPECT_EQ(e[1].dport, 80);
    EXPECT_EQ(e[1].where.line, 5u);

    EXPECT_EQ(e[2].kind, exact_kind::dst);
    EXPECT_EQ(e[2].dst, addr("198.51.100.7"));
    EXPECT_TRUE(e[2].l4);
    EXPECT_EQ(e[2].proto, 17);
    EXPECT_EQ(e[2].dport, 53);
    EXPECT_EQ(e[2].sport, 0);

    EXPECT_EQ(e[3].kind, exact_kind::src);
    EXPECT_TRUE(e[3].src.v6);
    EXPECT_EQ(e[3].src, addr("2001:db8::1"));
    EXPECT_TRUE(e[3].l4);
    EXPECT_EQ(e[3].sport, 0);

    EXPECT_EQ(e[4].kind, exact_kind::dst);
    EXPECT_EQ(e[4].dst, addr("2001:db8::2"));
    EXPECT_FALSE(e[4].l4);

    EXPECT_EQ(e[5].proto, 17);
    EXPECT_TRUE(e[5].src.v6);
    EXPECT_EQ(e[5].sport, 0);
    EXPECT_EQ(e[5].dport, 65535);

    EXPECT_EQ(e[6].action, firewall_action::drop);
    EXPECT_EQ(e[6].proto, 1);
    EXPECT_EQ(e[6].where.line, 10u);
}

TEST(exact_config, a_section_without_entries_is_empty_and_no_section_is_none) {
    const auto r = parse_config("[firewall]\n[firewall.exact]\n", "fw.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    ASSERT_TRUE(r.config.firewall->exact);
    EXPECT_TRUE(r.config.firewall->exact->entries.empty());
    const auto none = parse_config("[firewall]\n", "fw.toml");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none.config.firewall->exact);
}

TEST(exact_config, blank_and_comment_only_entries_are_ignored) {
    const auto r =
        parse_config(with_entries({"", "   ", "# nothing", "drop src 10.0.0.1#x"}), "fw.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    ASSERT_EQ(r.config.firewall->exact->entries.size(), 1u);
    EXPECT_EQ(r.config.firewall->exact->entries[0].src, addr("10.0.0.1"));
    EXPECT_EQ(r.config.firewall->exact->entries[0].where.line, 7u);
}

struct bad_line {
    std::string line;
    std::string word;  // the word the error is about (its column)
    std::string message;
};

void PrintTo(const bad_line& c, std::ostream* os) {
    *os << c.line;
}

// The 1-based column of word as a whole word of line.
uint32_t column_of(const std::string& line, const std::string& word) {
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
        if (line.substr(start, i - start) == word) {
            return static_cast<uint32_t>(start + 1);
        }
    }
    ADD_FAILURE() << "'" << word << "' is not a word of '" << line << "'";
    return 0;
}

class exact_config_errors : public ::testing::TestWithParam<bad_line> {};

TEST_P(exact_config_errors, inline_at_the_element) {
    const auto& c = GetParam();
    const auto r = parse_config(with_entries({"drop src 10.9.9.9", c.line}), "fw.toml");
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.errors[0].source, "fw.toml");
    EXPECT_EQ(r.errors[0].where.line, 5u);
    EXPECT_EQ(r.errors[0].where.column, 3u);
    EXPECT_THAT(r.errors[0].message, HasSubstr(c.message));
    EXPECT_THAT(r.errors[0].message, HasSubstr("firewall.exact.entries"));
}

TEST_P(exact_config_errors, in_a_file_at_the_word) {
    const auto& c = GetParam();
    exact_config x;
    std::vector<config_error> errors;
    parse_exact_text("# header\n\ndrop src 10.9.9.9\n" + c.line + "\n", "exact.txt", x, errors);
    ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(messages(errors));
    EXPECT_EQ(errors[0].source, "exact.txt");
    EXPECT_EQ(errors[0].where.line, 4u);
    EXPECT_EQ(errors[0].where.column, column_of(c.line, c.word));
    EXPECT_THAT(errors[0].message, HasSubstr(c.message));
    EXPECT_EQ(x.entries.size(), 1u) << "the bad line is not an entry";
}

INSTANTIATE_TEST_SUITE_P(
    exact_lines, exact_config_errors,
    ::testing::Values(
        bad_line{"allow src 1.2.3.4", "allow", "'allow' is not an action: expected accept or drop"},
        bad_line{"drop", "drop", "expected ACTION KIND"},
        bad_line{"drop host 1.2.3.4", "host", "'host' is not a kind: expected flow, src or dst"},
        bad_line{"drop src", "src", "src needs ADDR [PROTO PORT]"},
        bad_line{"accept dst", "dst", "dst needs ADDR [PROTO PORT]"},
        bad_line{"drop src 1.2.3", "1.2.3", "'1.2.3' is not an IPv4 or IPv6 address"},
        bad_line{"drop src 10.0.0.0/8", "10.0.0.0/8", "is not an IPv4 or IPv6 address"},
        bad_line{"drop dst 2001:db8::g", "2001:db8::g", "is not an IPv4 or IPv6 address"},
        bad_line{"drop src 1.2.3.4 tcp", "tcp", "a protocol needs a port"},
        bad_line{"drop src 1.2.3.4 tcp 22 x", "x", "unexpected 'x' after the entry"},
        bad_line{"drop dst 1.2.3.4 tcpp 22", "tcpp", "'tcpp' is not a protocol"},
        bad_line{"drop dst 1.2.3.4 256 22", "256", "'256' is not a protocol"},
        bad_line{"drop dst 1.2.3.4 tcp 65536", "65536", "'65536' is not a port 0..65535"},
        bad_line{"drop dst 1.2.3.4 tcp -1", "-1", "is not a port"},
        bad_line{"drop dst 1.2.3.4 udp 5x", "5x", "is not a port"},
        bad_line{"drop dst 1.2.3.4 gre 5", "5", "only tcp and udp are matched on ports"},
        bad_line{"drop src 1.2.3.4 sctp 5", "5", "write 0 for sctp"},
        bad_line{"drop flow tcp 1.2.3.4 1 5.6.7.8", "flow", "flow needs PROTO SRC SPORT DST DPORT"},
        bad_line{"drop flow tcp 1.2.3.4 1 2001:db8::1 2", "2001:db8::1",
                 "SRC and DST are of different address families"},
        bad_line{"drop flow tcp 1.2.3.4 1 5.6.7.8 2 3", "3", "unexpected '3'"},
        bad_line{"drop flow tcp 1.2.3.4 1 5.6.7 2", "5.6.7", "'5.6.7' is not an IPv4"},
        bad_line{"drop flow udp 1.2.3.4 x 5.6.7.8 2", "x", "'x' is not a port"},
        bad_line{"accept flow gre 1.2.3.4 0 5.6.7.8 1", "1", "only tcp and udp"},
        bad_line{"drop flow icmp 2001:db8::1 0 2001:db8::2 0", "icmp", "icmp with an IPv6 address"},
        bad_line{"drop flow icmpv6 1.2.3.4 0 5.6.7.8 0", "icmpv6", "icmpv6 with an IPv4 address"},
        bad_line{"drop src ::ffff:1.2.3.4 icmp 0", "icmp", "icmp with an IPv6 address"},
        bad_line{"Drop src 1.2.3.4", "Drop", "is not an action"}));

TEST(exact_config, a_comment_after_an_entry_is_not_part_of_it) {
    exact_config x;
    std::vector<config_error> errors;
    parse_exact_text("drop src 10.9.9.9 tcp 1 # tcp 1 ok\n", "exact.txt", x, errors);
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(messages(errors));
    ASSERT_EQ(x.entries.size(), 1u);
    EXPECT_EQ(x.entries[0].sport, 1);
}

TEST(exact_config, every_error_is_collected) {
    const auto r = parse_config(with_entries({"drop src 1.2.3", "accept src 1.2.3.4",
                                              "drop dst 1.2.3.4 tcp 99999", "deny src 1.1.1.1"}),
                                "fw.toml");
    ASSERT_EQ(r.errors.size(), 3u) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.errors[0].where.line, 4u);
    EXPECT_EQ(r.errors[1].where.line, 6u);
    EXPECT_EQ(r.errors[2].where.line, 7u);

    exact_config x;
    std::vector<config_error> errors;
    parse_exact_text(
        "drop src 1.2.3\naccept src 1.2.3.4\n\n# c\ndrop dst 1.2.3.4 tcp 99999\n"
        "deny src 1.1.1.1\n",
        "exact.txt", x, errors);
    ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(messages(errors));
    EXPECT_EQ(errors[0].to_string(),
              "exact.txt:1:10: firewall.exact: '1.2.3' is not an IPv4 or IPv6 address");
    EXPECT_EQ(errors[1].where.line, 5u);
    EXPECT_EQ(errors[1].where.column, 22u);
    EXPECT_EQ(errors[2].where.line, 6u);
    EXPECT_EQ(errors[2].where.column, 1u);
}

TEST(exact_config, the_section_own_errors) {
    struct section_case {
        std::string text;
        std::string message;
        uint32_t line;
    };
    const section_case cases[] = {
        {"[firewall]\n[firewall.exact]\nentries = [\"drop src 1.2.3.4\", 5]\n",
         "firewall.exact.entries: expected strings", 3},
        {"[firewall]\n[firewall.exact]\nentries = \"drop src 1.2.3.4\"\n",
         "firewall.exact.entries: expected an array", 3},
        {"[firewall]\n[firewall.exact]\nfiles = \"x.txt\"\n", "unknown key 'firewall.exact.files'",
         3},
        {"[firewall]\n[firewall.exact]\nfile = \"\"\n", "firewall.exact.file: must not be empty",
         3},
        {"[firewall]\n[firewall.exact]\nfile = 3\n", "firewall.exact.file: expected a string", 3},
        {"[firewall]\nexact = 3\n", "firewall.exact: expected a table", 2},
    };
    for (const auto& c : cases) {
        const auto r = parse_config(c.text, "fw.toml");
        ASSERT_EQ(r.errors.size(), 1u) << c.text << ::testing::PrintToString(messages(r.errors));
        EXPECT_THAT(r.errors[0].message, HasSubstr(c.message)) << c.text;
        EXPECT_EQ(r.errors[0].where.line, c.line) << c.text;
    }
}

TEST(exact_config, a_key_listed_again_with_the_same_action_is_one_entry) {
    const auto r = parse_config(
        with_entries({"drop src 1.2.3.4", "drop src 1.2.3.4", "accept flow tcp 1.1.1.1 1 2.2.2.2 2",
                      "accept flow 6 1.1.1.1 1 2.2.2.2 2 # by number"}),
        "fw.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    ASSERT_EQ(r.config.firewall->exact->entries.size(), 2u);
    EXPECT_EQ(r.config.firewall->exact->entries[1].where.line, 6u) << "the first one is kept";
}

TEST(exact_config, a_key_listed_again_with_another_action_is_an_error) {
    const auto r =
        parse_config(with_entries({"drop src 2001:db8::1", "accept dst 2001:db8::1",
                                   "accept src 2001:db8::1 tcp 1", "accept src 2001:DB8:0:0::1"}),
                     "fw.toml");
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.errors[0].where.line, 7u);
    EXPECT_EQ(r.errors[0].where.column, 3u);
    EXPECT_THAT(r.errors[0].message, HasSubstr("'accept src 2001:db8::1' contradicts "
                                               "'drop src 2001:db8::1' (firewall.exact.entries "
                                               "at 4:3 of the configuration file)"));

    // Keys that differ only in what makes them distinct are no conflict.
    const auto distinct = parse_config(
        with_entries({"drop flow tcp 1.1.1.1 1 2.2.2.2 2", "accept flow udp 1.1.1.1 1 2.2.2.2 2",
                      "accept flow tcp 1.1.1.1 2 2.2.2.2 1", "accept flow tcp 2.2.2.2 1 1.1.1.1 2",
                      "drop src 1.1.1.1 tcp 2", "accept src 1.1.1.1 udp 2", "accept src 1.1.1.1",
                      "drop dst 1.1.1.1", "drop dst 1.1.1.1 tcp 2", "accept src ::101:101"}),
        "fw.toml");
    EXPECT_TRUE(distinct.ok()) << ::testing::PrintToString(messages(distinct.errors));
    EXPECT_EQ(distinct.config.firewall->exact->entries.size(), 10u);
}

// A scratch directory of this test's own, removed after it.
class exact_files : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("exact_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_ / "conf" / "lists");
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    void write(const std::filesystem::path& p, const std::string& text) {
        std::ofstream out(dir_ / p, std::ios::binary);
        out << text;
    }
    std::filesystem::path dir_;
};

TEST_F(exact_files, the_file_is_read_relative_to_the_configuration_file) {
    write("conf/fw.toml", with_entries({"drop src 10.0.0.1"}, "file = \"lists/exact.txt\"\n"));
    write("conf/lists/exact.txt",
          "# deny list\r\n\r\n  accept flow udp 10.0.0.1 53 10.0.0.2 53   # dns\r\n"
          "\tdrop dst 2001:db8::7 tcp 22\n"
          "drop src 10.0.0.1\n"  // the same as the inline entry: skipped
          "drop src 10.0.0.3");  // no newline at the end
    const auto r = load_config_file((dir_ / "conf" / "fw.toml").string());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const auto& x = *r.config.firewall->exact;
    EXPECT_EQ(x.file, "lists/exact.txt");
    EXPECT_EQ(x.file_path, (dir_ / "conf" / "lists" / "exact.txt").string());
    ASSERT_EQ(x.entries.size(), 4u);
    EXPECT_FALSE(x.entries[0].in_file);
    EXPECT_TRUE(x.entries[1].in_file);
    EXPECT_EQ(x.entries[1].kind, exact_kind::flow);
    EXPECT_EQ(x.entries[1].where.line, 3u);
    EXPECT_EQ(x.entries[1].where.column, 3u);
    EXPECT_EQ(x.entries[2].kind, exact_kind::dst);
    EXPECT_EQ(x.entries[2].where.line, 4u);
    EXPECT_EQ(x.entries[2].where.column, 2u);
    EXPECT_EQ(x.entries[3].src, addr("10.0.0.3"));
    EXPECT_EQ(x.entries[3].where.line, 6u);
}

TEST_F(exact_files, errors_name_the_file_line_and_column) {
    write("conf/fw.toml", with_entries({"drop src 10.0.0.1"}, "file = \"exact.txt\"\n"));
    write("conf/exact.txt",
          "drop src 10.0.0.2\ndrop flow tcp 10.0.0.1 1 10.0.0.2\n"
          "accept src 10.0.0.1\naccept src 10.0.0.2\n");
    const auto r = load_config_file((dir_ / "conf" / "fw.toml").string());
    const std::string file = (dir_ / "conf" / "exact.txt").string();
    EXPECT_THAT(
        messages(r.errors),
        ::testing::ElementsAre(file + ":2:6: firewall.exact: flow needs PROTO SRC SPORT DST DPORT",
                               file + ":3:1: firewall.exact: 'accept src 10.0.0.1' contradicts "
                                      "'drop src 10.0.0.1' (firewall.exact.entries at 5:3 of the "
                                      "configuration file): the same key with another action",
                               file +
                                   ":4:1: firewall.exact: 'accept src 10.0.0.2' contradicts "
                                   "'drop src 10.0.0.2' (" +
                                   file + ":1:1): the same key with another action"));
}

TEST_F(exact_files, a_missing_file_is_an_error_at_the_file_key) {
    write("conf/fw.toml", "[firewall]\n[firewall.exact]\nfile = \"nope.txt\"\n");
    const auto r = load_config_file((dir_ / "conf" / "fw.toml").string());
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.errors[0].where.line, 3u);
    EXPECT_EQ(r.errors[0].where.column, 8u);
    EXPECT_THAT(r.errors[0].message, HasSubstr("firewall.exact.file: cannot read '" +
                                               (dir_ / "conf" / "nope.txt").string() + "'"));
    // An absolute path is taken as it is.
    write("elsewhere.txt", "drop dst 192.0.2.1\n");
    write("conf/abs.toml",
          "[firewall]\n[firewall.exact]\nfile = \"" + (dir_ / "elsewhere.txt").string() + "\"\n");
    const auto abs = load_config_file((dir_ / "conf" / "abs.toml").string());
    ASSERT_TRUE(abs.ok()) << ::testing::PrintToString(messages(abs.errors));
    EXPECT_EQ(abs.config.firewall->exact->entries.size(), 1u);
}

// ---- the table on packets (EAL) ----------------------------------------------------------


bytes v4(uint8_t proto, const bytes& l4, std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst,
         uint16_t frag = 0) {
    ipv4_header h;
    h.proto = proto;
    h.src = src;
    h.dst = dst;
    h.frag = frag;
    return cat(ethernet(ether_ipv4), ipv4(h, l4));
}

bytes v6(uint8_t next, const bytes& l4, std::array<uint8_t, 16> src, std::array<uint8_t, 16> dst) {
    ipv6_header h;
    h.next = next;
    h.src = src;
    h.dst = dst;
    return cat(ethernet(ether_ipv6), ipv6(h, l4));
}

std::array<uint8_t, 16> a6(const std::string& text) {
    return addr(text).bytes;
}

class exact_table_test : public unit::pool_test<exact_table_test> {
  public:
    static constexpr const char* pool_name = "exact_pool";
    static constexpr unsigned pool_size = 511;

  protected:
    static std::unique_ptr<exact_table> build(const std::vector<std::string>& lines,
                                              unsigned lanes = 1) {
        const auto r = parse_config(with_entries(lines), "fw.toml");
        EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
        if (!r.ok()) {
            return nullptr;
        }
        std::vector<std::string> errors;
        auto t = exact_table::build(*r.config.firewall->exact, lanes, errors);
        EXPECT_TRUE(t) << ::testing::PrintToString(errors);
        return t;
    }

    // Parses the frames (at most 64) and looks them up as one burst on lane.
    std::vector<exact_verdict> lookup(const exact_table& t, const std::vector<bytes>& frames,
                                      unsigned lane = 0) {
        EXPECT_LE(frames.size(), 64u);
        std::array<rte_mbuf*, 64> pkts{};
        uint16_t n = 0;
        for (const auto& f : frames) {
            rte_mbuf* m = unit::make_mbuf(pool_, f, 0);
            if (m == nullptr) {
                break;
            }
            pkts[n++] = m;
            const auto defect = parse_packet(m, *meta_of(m));
            EXPECT_FALSE(defect) << "test frame " << n - 1 << " is malformed";
        }
        std::vector<exact_verdict> out(n, exact_verdict::accept);
        if (n == frames.size()) {
            t.lookup(pkts.data(), n, out.data(), lane);
        } else {
            out.clear();
        }
        for (uint16_t i = 0; i < n; ++i) {
            rte_pktmbuf_free(pkts[i]);
        }
        return out;
    }

    exact_verdict one(const exact_table& t, const bytes& frame) {
        const auto v = lookup(t, {frame});
        return v.size() == 1 ? v[0] : static_cast<exact_verdict>(42);
    }
};

constexpr auto miss = exact_verdict::miss;
constexpr auto pass = exact_verdict::accept;
constexpr auto deny = exact_verdict::drop;

const std::array<uint8_t, 4> A = {192, 0, 2, 1};
const std::array<uint8_t, 4> B = {198, 51, 100, 2};
const std::array<uint8_t, 4> C = {203, 0, 113, 9};

TEST_F(exact_table_test, each_kind_hits_and_near_misses_miss) {
    const auto t = build({"accept flow tcp 192.0.2.1 40000 198.51.100.2 80", "drop src 203.0.113.9",
                          "drop dst 198.51.100.7 udp 53", "accept src 192.0.2.77 udp 5353",
                          "drop dst 192.0.2.99"});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->size(), 5u);
    const std::array<uint8_t, 4> D = {198, 51, 100, 7};
    EXPECT_THAT(lookup(*t,
                       {
                           v4(proto_tcp, tcp(40000, 80, 0x02), A, B),        // flow
                           v4(proto_tcp, tcp(40001, 80, 0x02), A, B),        // other sport
                           v4(proto_tcp, tcp(40000, 81, 0x02), A, B),        // other dport
                           v4(proto_udp, udp(40000, 80), A, B),              // other protocol
                           v4(proto_tcp, tcp(80, 40000, 0x12), B, A),        // the reply direction
                           v4(proto_tcp, tcp(40000, 80, 0x02), A, C),        // other destination
                           v4(proto_udp, udp(1, 2), C, B),                   // src
                           v4(proto_icmp, icmp(8, 0), C, A),                 // src, any protocol
                           v4(proto_udp, udp(1, 2), B, C),                   // C as destination
                           v4(proto_udp, udp(9, 53), A, D),                  // dst udp 53
                           v4(proto_tcp, tcp(9, 53, 0x02), A, D),            // dst tcp 53
                           v4(proto_udp, udp(53, 9), D, A),                  // D as source
                           v4(proto_udp, udp(5353, 1), {192, 0, 2, 77}, B),  // src udp 5353
                           v4(proto_udp, udp(1, 5353), {192, 0, 2, 77}, B),  // its dport
                           v4(proto_icmp, icmp(0, 0), A, {192, 0, 2, 99}),   // dst
                       }),
                ::testing::ElementsAre(pass, miss, miss, miss, miss, miss, deny, deny, miss, deny,
                                       miss, miss, pass, miss, deny));
}

TEST_F(exact_table_test, precedence_is_flow_then_src_then_dst) {
    const auto t = build({
        "accept flow tcp 192.0.2.1 1000 198.51.100.2 80",
        "drop src 192.0.2.1",
        "accept src 192.0.2.1 tcp 1001",
        "drop dst 198.51.100.2 tcp 80",
        "accept dst 198.51.100.2",
    });
    ASSERT_TRUE(t);
    EXPECT_THAT(lookup(*t,
                       {
                           v4(proto_tcp, tcp(1000, 80, 0x10), A, B),  // flow beats all
                           v4(proto_tcp, tcp(1002, 80, 0x10), A, B),  // src beats dst
                           v4(proto_tcp, tcp(1001, 80, 0x10), A, B),  // src+port beats src
                           v4(proto_tcp, tcp(1000, 80, 0x10), C, B),  // dst+port beats dst
                           v4(proto_tcp, tcp(1000, 81, 0x10), C, B),  // dst
                           v4(proto_udp, udp(1000, 80), C, B),        // dst (not tcp)
                       }),
                ::testing::ElementsAre(pass, deny, pass, deny, pass, pass));
}

TEST_F(exact_table_test, ipv6_entries_and_the_families_apart) {
    const auto t = build({
        "drop flow udp 2001:db8::10 5000 2001:db8:1::1 53",
        "accept src 2001:db8::20",
        "drop dst 2001:db8:1::1 tcp 443",
        "accept flow icmpv6 2001:db8::30 0 2001:db8:1::1 0",
        "drop src 10.1.2.3",  // the first 4 bytes of 0a01:0203::
        "drop dst ::",
    });
    ASSERT_TRUE(t);
    const auto s10 = a6("2001:db8::10");
    const auto d1 = a6("2001:db8:1::1");
    EXPECT_THAT(lookup(*t,
                       {
                           v6(proto_udp, udp(5000, 53), s10, d1),
                           v6(proto_udp, udp(5000, 54), s10, d1),
                           v6(proto_udp, udp(5000, 53), a6("2001:db8::11"), d1),
                           v6(proto_tcp, tcp(1, 2, 0x02), a6("2001:db8::20"), d1),
                           v6(proto_tcp, tcp(1, 443, 0x02), s10, d1),
                           v6(proto_icmpv6, icmp(128, 0), a6("2001:db8::30"), d1),
                           v6(proto_icmpv6, icmp(128, 0), a6("2001:db8::31"), d1),
                           v6(proto_udp, udp(1, 2), a6("a01:203::"), d1),
                           v4(proto_udp, udp(1, 2), {0, 0, 0, 0}, {0, 0, 0, 0}),
                           v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, B),
                       }),
                ::testing::ElementsAre(deny, miss, miss, pass, deny, pass, miss, miss, miss, deny));
}

TEST_F(exact_table_test, ports_0_and_65535_are_ports_like_any_other) {
    const auto t = build({
        "accept flow udp 192.0.2.1 0 198.51.100.2 65535",
        "drop dst 203.0.113.9 tcp 0",
        "drop src 203.0.113.9 tcp 65535",
    });
    ASSERT_TRUE(t);
    EXPECT_THAT(lookup(*t,
                       {
                           v4(proto_udp, udp(0, 65535), A, B),
                           v4(proto_udp, udp(1, 65535), A, B),
                           v4(proto_udp, udp(0, 65534), A, B),
                           v4(proto_tcp, tcp(5, 0, 0x02), A, C),
                           v4(proto_tcp, tcp(5, 1, 0x02), A, C),
                           v4(proto_udp, udp(5, 0), A, C),
                           v4(proto_tcp, tcp(65535, 7, 0x02), C, A),
                           v4(proto_tcp, tcp(65534, 7, 0x02), C, A),
                       }),
                ::testing::ElementsAre(pass, miss, miss, deny, miss, miss, deny, miss));
}

TEST_F(exact_table_test, non_first_fragments_match_only_entries_without_ports) {
    constexpr uint16_t mf = 0x2000;
    constexpr uint16_t offset3 = 0x0003;
    const auto with_src = build({"accept flow udp 192.0.2.1 1 198.51.100.2 2", "drop src 192.0.2.1",
                                 "accept flow gre 192.0.2.1 0 203.0.113.9 0",
                                 "accept flow icmp 192.0.2.1 0 198.51.100.2 0"});
    ASSERT_TRUE(with_src);
    EXPECT_THAT(lookup(*with_src,
                       {
                           v4(proto_udp, udp(1, 2, 16), A, B, mf),        // first fragment: ports
                           v4(proto_udp, filler(16, 1), A, B, offset3),   // no ports: src
                           v4(47, filler(16, 1), A, C, offset3),          // GRE has none anyway
                           v4(proto_icmp, filler(16, 1), A, B, offset3),  // nor has ICMP
                       }),
                ::testing::ElementsAre(pass, deny, pass, pass));

    const auto ported =
        build({"accept flow udp 192.0.2.1 1 198.51.100.2 2", "drop dst 198.51.100.2 udp 2",
               "drop src 192.0.2.1 udp 1", "accept flow udp 2001:db8::10 1 2001:db8:1::1 2"});
    ASSERT_TRUE(ported);
    ipv6_header h;
    h.next = 44;
    h.src = a6("2001:db8::10");
    h.dst = a6("2001:db8:1::1");
    EXPECT_THAT(lookup(*ported,
                       {
                           v4(proto_udp, filler(16, 1), A, B, offset3),
                           v4(proto_tcp, filler(16, 1), A, B, offset3),
                           cat(ethernet(ether_ipv6),
                               ipv6(h, cat(ipv6_frag(proto_udp, 100, false), filler(16, 3)))),
                           cat(ethernet(ether_ipv6),
                               ipv6(h, cat(ipv6_frag(proto_udp, 0, true), udp(1, 2, 16)))),
                       }),
                ::testing::ElementsAre(miss, miss, miss, pass));
    // A fragment without ports is not a packet of ports 0.
    const auto zero = build({"accept flow udp 192.0.2.1 0 198.51.100.2 0", "drop src 192.0.2.1",
                             "accept flow tcp 2001:db8::10 0 2001:db8:1::1 0",
                             "accept src 2001:db8::10 tcp 0", "drop dst 2001:db8:1::1"});
    ASSERT_TRUE(zero);
    ipv6_header tcp6 = h;
    EXPECT_THAT(lookup(*zero,
                       {
                           v4(proto_udp, filler(16, 1), A, B, offset3),
                           v4(proto_udp, udp(0, 0, 16), A, B, mf),
                           cat(ethernet(ether_ipv6),
                               ipv6(tcp6, cat(ipv6_frag(proto_tcp, 100, false), filler(16, 3)))),
                       }),
                ::testing::ElementsAre(deny, pass, deny));
    const auto v6src = build({"drop src 2001:db8::10"});
    ASSERT_TRUE(v6src);
    EXPECT_EQ(one(*v6src, cat(ethernet(ether_ipv6),
                              ipv6(h, cat(ipv6_frag(proto_udp, 100, false), filler(16, 3))))),
              deny);
}

TEST_F(exact_table_test, frames_that_are_not_ip_are_never_looked_up) {
    const auto t = build({"drop src 0.0.0.0", "drop dst 0.0.0.0", "drop src 192.0.2.1"});
    ASSERT_TRUE(t);
    EXPECT_EQ(one(*t, arp()), miss);
    EXPECT_EQ(one(*t, pad_to(cat(ethernet(0x88b5), filler(46, 1)), 60)), miss);
    EXPECT_EQ(one(*t, v4(proto_udp, udp(1, 2), A, B)), deny) << "the table works";
    EXPECT_EQ(t->hits().drop_packets, 1u);
}

TEST_F(exact_table_test, an_empty_table_misses_everything) {
    const auto t = build({});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->size(), 0u);
    EXPECT_THAT(lookup(*t, {v4(proto_udp, udp(1, 2), A, B), v6(proto_udp, udp(1, 2), {}, {})}),
                ::testing::ElementsAre(miss, miss));
}

TEST_F(exact_table_test, hits_are_counted_per_lane_and_summed) {
    const auto t = build({"accept src 192.0.2.1", "drop src 203.0.113.9"}, 3);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->lanes(), 3u);
    const bytes ok = v4(proto_udp, udp(1, 2, 100), A, B);    // 14 + 20 + 8 + 100
    const bytes bad = v4(proto_tcp, tcp(1, 2, 0x02), C, B);  // 14 + 20 + 20
    const bytes other = v4(proto_udp, udp(1, 2), B, A);
    ASSERT_EQ(ok.size(), 142u);
    ASSERT_EQ(bad.size(), 54u);
    lookup(*t, {ok, ok, bad, other}, 0);
    lookup(*t, {bad, other}, 2);
    lookup(*t, {ok}, 2);
    EXPECT_EQ(t->hits(0).accept_packets.get(), 2u);
    EXPECT_EQ(t->hits(0).accept_bytes.get(), 284u);
    EXPECT_EQ(t->hits(0).drop_packets.get(), 1u);
    EXPECT_EQ(t->hits(0).drop_bytes.get(), 54u);
    EXPECT_EQ(t->hits(1).accept_packets.get() + t->hits(1).drop_packets.get(), 0u);
    EXPECT_EQ(t->hits(2).accept_packets.get(), 1u);
    EXPECT_EQ(t->hits(2).drop_packets.get(), 1u);
    const auto sum = t->hits();
    EXPECT_EQ(sum.accept_packets, 3u);
    EXPECT_EQ(sum.accept_bytes, 3 * 142u);
    EXPECT_EQ(sum.drop_packets, 2u);
    EXPECT_EQ(sum.drop_bytes, 2 * 54u);
    // Each lane writes a cache line of its own.
    for (unsigned lane = 0; lane < 3; ++lane) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(&t->hits(lane)) % RTE_CACHE_LINE_SIZE, 0u);
    }
    EXPECT_GE(reinterpret_cast<uintptr_t>(&t->hits(1)) - reinterpret_cast<uintptr_t>(&t->hits(0)),
              RTE_CACHE_LINE_SIZE);
}

// The stats' totals (firewall_totals): a reload carries the hits over
// while the section stays, whatever its entries; removing it clears them.
TEST_F(exact_table_test, hits_carry_over_a_reload_while_the_section_stays) {
    const auto first = build({"accept src 192.0.2.1", "drop src 203.0.113.9"});
    const auto second = build({"accept src 192.0.2.1"});
    ASSERT_TRUE(first && second);
    const bytes ok = v4(proto_udp, udp(1, 2, 100), A, B);
    const bytes bad = v4(proto_tcp, tcp(1, 2, 0x02), C, B);
    lookup(*first, {ok, bad, bad});
    firewall_totals totals;
    EXPECT_EQ(totals.report(*first).drop_packets, 2u);
    totals.retire(*first, second.get());
    lookup(*second, {ok, bad});
    auto sum = totals.report(*second);
    EXPECT_EQ(sum.accept_packets, 2u);
    EXPECT_EQ(sum.accept_bytes, 2 * 142u);
    EXPECT_EQ(sum.drop_packets, 2u) << "the entry is gone; what it counted stays";
    EXPECT_EQ(sum.drop_bytes, 2 * 54u);
    totals.retire(*second, nullptr);
    const auto third = build({"drop src 192.0.2.1"});
    ASSERT_TRUE(third);
    sum = totals.report(*third);
    EXPECT_EQ(sum.accept_packets + sum.drop_packets, 0u) << "the section was removed in between";
}

TEST_F(exact_table_test, build_keeps_one_entry_per_key_and_refuses_contradictions) {
    exact_config x;
    exact_entry e;
    e.action = firewall_action::drop;
    e.kind = exact_kind::src;
    e.src = addr("192.0.2.1");
    x.entries = {e, e};
    std::vector<std::string> errors;
    const auto t = exact_table::build(x, 1, errors);
    ASSERT_TRUE(t) << ::testing::PrintToString(errors);
    EXPECT_EQ(t->size(), 1u);
    EXPECT_GT(t->memory_bytes(), 0u);

    x.entries[1].action = firewall_action::accept;
    EXPECT_FALSE(exact_table::build(x, 1, errors));
    EXPECT_THAT(errors, ::testing::Contains(HasSubstr("with another action")));

    errors.clear();
    x.entries[1].action = firewall_action::reject;
    EXPECT_FALSE(exact_table::build(x, 1, errors));
    EXPECT_THAT(errors, ::testing::Contains(HasSubstr("must be accept or drop")));
}

TEST_F(exact_table_test, generations_of_one_config_live_side_by_side) {
    const std::vector<std::string> lines = {"drop src 192.0.2.1", "accept dst 198.51.100.2",
                                            "drop flow udp 2001:db8::10 1 2001:db8:1::1 2"};
    auto first = build(lines);
    auto second = build(lines);
    ASSERT_TRUE(first && second);
    const std::vector<bytes> frames = {
        v4(proto_udp, udp(1, 2), A, B), v4(proto_udp, udp(1, 2), C, B),
        v6(proto_udp, udp(1, 2), a6("2001:db8::10"), a6("2001:db8:1::1"))};
    EXPECT_THAT(lookup(*first, frames), ::testing::ElementsAre(deny, pass, deny));
    first.reset();
    EXPECT_THAT(lookup(*second, frames), ::testing::ElementsAre(deny, pass, deny));
    EXPECT_EQ(second->hits().drop_packets, 2u);
}

// ---- a random table against an oracle ----------------------------------------------------

// An independent model of the semantics: std::maps, looked up in order.
struct oracle {
    using addr16 = std::array<uint8_t, 16>;
    // kind: 0 flow, 1 src with port, 2 src, 3 dst with port, 4 dst.
    using key = std::tuple<int, bool, addr16, addr16, uint8_t, uint16_t, uint16_t>;
    std::map<key, exact_verdict> entries;

    struct packet {
        bool v6;
        addr16 src;
        addr16 dst;
        uint8_t proto;
        uint16_t sport;
        uint16_t dport;
        bool nonfirst;  // a non-first fragment: no ports
    };

    exact_verdict decide(const packet& p) const {
        const bool ported = p.proto == proto_tcp || p.proto == proto_udp;
        const bool ports_known = !ported || !p.nonfirst;
        const uint16_t sport = ported ? p.sport : 0;
        const uint16_t dport = ported ? p.dport : 0;
        const key keys[] = {
            {0, p.v6, p.src, p.dst, p.proto, sport, dport},
            {1, p.v6, p.src, {}, p.proto, sport, 0},
            {2, p.v6, p.src, {}, 0, 0, 0},
            {3, p.v6, {}, p.dst, p.proto, 0, dport},
            {4, p.v6, {}, p.dst, 0, 0, 0},
        };
        for (const auto& k : keys) {
            const int kind = std::get<0>(k);
            if ((kind == 0 || kind == 1 || kind == 3) && !ports_known) {
                continue;
            }
            if (const auto it = entries.find(k); it != entries.end()) {
                return it->second;
            }
        }
        return exact_verdict::miss;
    }
};

TEST_F(exact_table_test, bursts_of_64_agree_with_an_oracle_of_100000_random_entries) {
    std::mt19937 rng(20240607);
    auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    // Addresses from pools, so that packets often match more than one kind.
    std::vector<oracle::addr16> pool4(4096);
    std::vector<oracle::addr16> pool6(1024);
    for (auto& a : pool4) {
        for (unsigned b = 0; b < 4; ++b) {
            a[b] = static_cast<uint8_t>(rng());
        }
    }
    for (auto& a : pool6) {
        a = a6("2001:db8::");
        for (unsigned b = 8; b < 16; ++b) {
            a[b] = static_cast<uint8_t>(rng());
        }
    }
    auto any_addr = [&](bool v6) { return v6 ? pool6[pick(1024)] : pool4[pick(4096)]; };
    auto text = [](bool v6, const oracle::addr16& a) {
        ip_address ip;
        ip.v6 = v6;
        ip.bytes = a;
        if (!v6) {
            std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
        }
        return to_string(ip);
    };
    auto proto_of = [&](bool v6) -> uint8_t {
        const uint32_t r = pick(10);
        return r < 4   ? proto_tcp
               : r < 8 ? proto_udp
               : r < 9 ? (v6 ? proto_icmpv6 : proto_icmp)
                       : 47;
    };
    auto port_for = [&](uint8_t proto) -> uint16_t {
        return proto == proto_tcp || proto == proto_udp ? static_cast<uint16_t>(rng()) : 0;
    };

    oracle model;
    std::vector<oracle::key> keys;
    std::string lines;
    while (model.entries.size() < 100000) {
        const bool v6 = pick(5) == 0;
        const uint32_t r = pick(1000);
        const int kind = r < 700 ? 0 : r < 840 ? 1 : r < 845 ? 2 : r < 995 ? 3 : 4;
        const uint8_t proto = proto_of(v6);
        oracle::key k;
        std::string line;
        const auto s = any_addr(v6);
        const auto d = any_addr(v6);
        const uint16_t sp = port_for(proto);
        const uint16_t dp = port_for(proto);
        switch (kind) {
            case 0:
                k = {0, v6, s, d, proto, sp, dp};
                line = "flow " + std::to_string(proto) + " " + text(v6, s) + " " +
                       std::to_string(sp) + " " + text(v6, d) + " " + std::to_string(dp);
                break;
            case 1:
                k = {1, v6, s, {}, proto, sp, 0};
                line =
                    "src " + text(v6, s) + " " + std::to_string(proto) + " " + std::to_string(sp);
                break;
            case 2:
                k = {2, v6, s, {}, 0, 0, 0};
                line = "src " + text(v6, s);
                break;
            case 3:
                k = {3, v6, {}, d, proto, 0, dp};
                line =
                    "dst " + text(v6, d) + " " + std::to_string(proto) + " " + std::to_string(dp);
                break;
            default:
                k = {4, v6, {}, d, 0, 0, 0};
                line = "dst " + text(v6, d);
                break;
        }
        if (!v6) {  // the model compares all 16 bytes
            for (auto* a : {&std::get<2>(k), &std::get<3>(k)}) {
                std::fill(a->begin() + 4, a->end(), 0);
            }
        }
        const bool accept = pick(2) == 0;
        if (model.entries.emplace(k, accept ? pass : deny).second) {
            keys.push_back(k);
            lines += (accept ? "accept " : "drop ") + line + "\n";
        }
    }
    exact_config x;
    std::vector<config_error> config_errors;
    parse_exact_text(lines, "random.txt", x, config_errors);
    ASSERT_TRUE(config_errors.empty()) << ::testing::PrintToString(messages(config_errors));
    ASSERT_EQ(x.entries.size(), 100000u);
    std::vector<std::string> errors;
    const auto t = exact_table::build(x, 1, errors);
    ASSERT_TRUE(t) << ::testing::PrintToString(errors);
    EXPECT_EQ(t->size(), 100000u);

    unsigned hits = 0;
    unsigned total = 0;
    for (unsigned burst = 0; burst < 48; ++burst) {
        std::vector<oracle::packet> packets;
        std::vector<bytes> frames;
        for (unsigned i = 0; i < 64; ++i) {
            oracle::packet p{};
            if (pick(2) == 0) {  // made to hit an entry (it may hit an earlier kind)
                const auto& k = keys[pick(static_cast<uint32_t>(keys.size()))];
                const int kind = std::get<0>(k);
                p.v6 = std::get<1>(k);
                p.src = kind <= 2 ? std::get<2>(k) : any_addr(p.v6);
                p.dst = kind == 0 || kind >= 3 ? std::get<3>(k) : any_addr(p.v6);
                p.proto = kind == 0 || kind == 1 || kind == 3 ? std::get<4>(k) : proto_of(p.v6);
                p.sport = kind == 0 || kind == 1 ? std::get<5>(k) : port_for(p.proto);
                p.dport = kind == 0 || kind == 3 ? std::get<6>(k) : port_for(p.proto);
            } else {
                p.v6 = pick(5) == 0;
                p.src = any_addr(p.v6);
                p.dst = any_addr(p.v6);
                p.proto = proto_of(p.v6);
                p.sport = port_for(p.proto);
                p.dport = port_for(p.proto);
            }
            if (!p.v6) {
                std::fill(p.src.begin() + 4, p.src.end(), 0);
                std::fill(p.dst.begin() + 4, p.dst.end(), 0);
            }
            p.nonfirst = pick(16) == 0;
            bytes l4;
            if (p.nonfirst) {
                l4 = filler(24, static_cast<uint8_t>(i));
            } else if (p.proto == proto_tcp) {
                l4 = tcp(p.sport, p.dport, 0x10);
            } else if (p.proto == proto_udp) {
                l4 = udp(p.sport, p.dport);
            } else if (p.proto == 47) {
                l4 = filler(8, 1);
            } else {
                l4 = icmp(p.v6 ? 128 : 8, 0);
            }
            if (p.v6) {
                ipv6_header h;
                h.src = p.src;
                h.dst = p.dst;
                h.next = p.nonfirst ? 44 : p.proto;
                frames.push_back(
                    cat(ethernet(ether_ipv6),
                        ipv6(h, p.nonfirst ? cat(ipv6_frag(p.proto, 10, false), l4) : l4)));
            } else {
                frames.push_back(v4(p.proto, l4, {p.src[0], p.src[1], p.src[2], p.src[3]},
                                    {p.dst[0], p.dst[1], p.dst[2], p.dst[3]},
                                    p.nonfirst ? 0x0005 : 0));
            }
            packets.push_back(p);
        }
        const auto got = lookup(*t, frames);
        ASSERT_EQ(got.size(), 64u);
        for (unsigned i = 0; i < 64; ++i) {
            const auto want = model.decide(packets[i]);
            ASSERT_EQ(got[i], want)
                << "burst " << burst << " packet " << i << " v6 " << packets[i].v6 << " proto "
                << int(packets[i].proto) << " nonfirst " << packets[i].nonfirst;
            hits += want != miss ? 1 : 0;
            ++total;
        }
    }
    // The test means something only if both outcomes are common.
    EXPECT_GT(hits, total * 3 / 10);
    EXPECT_LT(hits, total * 8 / 10);
    const auto sum = t->hits();
    EXPECT_EQ(sum.accept_packets + sum.drop_packets, hits);
}

}  // namespace
}  // namespace dpdk_app
