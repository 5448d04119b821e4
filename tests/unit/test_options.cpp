// Command line: the EAL/application split, application options, the vdev
// file checks and --no-huge detection.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/options.hpp"

namespace dpdk_app {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

split_args split(std::vector<const char*> argv) {
    return split_command_line(static_cast<int>(argv.size()), argv.data());
}

TEST(split_command_line, eal_before_double_dash_app_after) {
    const split_args s = split({"dpdk-app", "-l", "0-3", "--no-pci", "--", "-c", "a.toml", "-q"});
    EXPECT_THAT(s.eal, ElementsAre("dpdk-app", "-l", "0-3", "--no-pci"));
    EXPECT_THAT(s.app, ElementsAre("-c", "a.toml", "-q"));
}

TEST(split_command_line, without_double_dash_everything_is_eal) {
    const split_args s = split({"dpdk-app", "-l", "0", "--no-huge"});
    EXPECT_THAT(s.eal, ElementsAre("dpdk-app", "-l", "0", "--no-huge"));
    EXPECT_THAT(s.app, IsEmpty());
}

TEST(split_command_line, trailing_double_dash_gives_no_app_args) {
    const split_args s = split({"dpdk-app", "-l", "0", "--"});
    EXPECT_THAT(s.eal, ElementsAre("dpdk-app", "-l", "0"));
    EXPECT_THAT(s.app, IsEmpty());
}

TEST(split_command_line, only_the_first_double_dash_splits) {
    const split_args s = split({"dpdk-app", "--", "--quiet", "--", "x"});
    EXPECT_THAT(s.eal, ElementsAre("dpdk-app"));
    EXPECT_THAT(s.app, ElementsAre("--quiet", "--", "x"));
}

TEST(split_command_line, argv0_is_never_the_separator) {
    const split_args s = split({"--", "-l", "0"});
    EXPECT_THAT(s.eal, ElementsAre("--", "-l", "0"));
    EXPECT_THAT(s.app, IsEmpty());
}

TEST(split_command_line, empty_argv) {
    const split_args s = split_command_line(0, nullptr);
    EXPECT_THAT(s.eal, IsEmpty());
    EXPECT_THAT(s.app, IsEmpty());
}

app_options parse_ok(const std::vector<std::string>& args) {
    std::string error;
    app_options o = parse_app_options(args, error);
    EXPECT_EQ(error, "") << ::testing::PrintToString(args);
    return o;
}

std::string parse_error(const std::vector<std::string>& args) {
    std::string error;
    parse_app_options(args, error);
    return error;
}

TEST(parse_app_options, no_arguments_gives_defaults) {
    const app_options o = parse_ok({});
    EXPECT_FALSE(o.config_file.has_value());
    EXPECT_FALSE(o.check_config);
    EXPECT_EQ(o.duration_s, 0.0);
    EXPECT_EQ(o.idle_exit_ms, 0u);
    EXPECT_FALSE(o.stats_json.has_value());
    EXPECT_FALSE(o.quiet);
    EXPECT_FALSE(o.help);
    EXPECT_FALSE(o.version);
}

TEST(parse_app_options, every_option_in_separate_value_form) {
    const app_options o =
        parse_ok({"--config", "a.toml", "--check-config", "--duration", "2.5", "--idle-exit", "250",
                  "--stats-json", "out.json", "--quiet", "--help", "--version"});
    EXPECT_EQ(o.config_file.value_or(""), "a.toml");
    EXPECT_TRUE(o.check_config);
    EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
    EXPECT_EQ(o.idle_exit_ms, 250u);
    EXPECT_EQ(o.stats_json.value_or(""), "out.json");
    EXPECT_TRUE(o.quiet);
    EXPECT_TRUE(o.help);
    EXPECT_TRUE(o.version);
}

TEST(parse_app_options, short_forms) {
    const app_options o = parse_ok({"-c", "b.toml", "-q", "-h"});
    EXPECT_EQ(o.config_file.value_or(""), "b.toml");
    EXPECT_TRUE(o.quiet);
    EXPECT_TRUE(o.help);
    EXPECT_FALSE(o.version);
}

TEST(parse_app_options, equals_value_form) {
    const app_options o =
        parse_ok({"--config=c.toml", "--duration=10", "--idle-exit=5", "--stats-json=/tmp/s.json"});
    EXPECT_EQ(o.config_file.value_or(""), "c.toml");
    EXPECT_DOUBLE_EQ(o.duration_s, 10.0);
    EXPECT_EQ(o.idle_exit_ms, 5u);
    EXPECT_EQ(o.stats_json.value_or(""), "/tmp/s.json");
}

TEST(parse_app_options, equals_value_keeps_later_equals_signs) {
    const app_options o = parse_ok({"--stats-json=a=b.json"});
    EXPECT_EQ(o.stats_json.value_or(""), "a=b.json");
}

TEST(parse_app_options, value_may_start_with_a_dash) {
    const app_options o = parse_ok({"--config", "-weird-name.toml"});
    EXPECT_EQ(o.config_file.value_or(""), "-weird-name.toml");
}

TEST(parse_app_options, last_value_wins) {
    const app_options o =
        parse_ok({"-c", "a.toml", "--config=b.toml", "--duration", "1", "--duration", "3"});
    EXPECT_EQ(o.config_file.value_or(""), "b.toml");
    EXPECT_DOUBLE_EQ(o.duration_s, 3.0);
}

TEST(parse_app_options, duration_accepts_zero_and_fractions) {
    EXPECT_DOUBLE_EQ(parse_ok({"--duration", "0"}).duration_s, 0.0);
    EXPECT_DOUBLE_EQ(parse_ok({"--duration", "0.25"}).duration_s, 0.25);
    EXPECT_DOUBLE_EQ(parse_ok({"--duration", "1e2"}).duration_s, 100.0);
}

TEST(parse_app_options, missing_values) {
    EXPECT_EQ(parse_error({"--config"}), "option --config needs a value");
    EXPECT_EQ(parse_error({"-c"}), "option -c needs a value");
    EXPECT_EQ(parse_error({"--duration"}), "option --duration needs a value");
    EXPECT_EQ(parse_error({"--idle-exit"}), "option --idle-exit needs a value");
    EXPECT_EQ(parse_error({"--quiet", "--stats-json"}), "option --stats-json needs a value");
}

TEST(parse_app_options, bad_durations) {
    EXPECT_EQ(parse_error({"--duration", "abc"}),
              "--duration: expected a number of seconds >= 0, got 'abc'");
    EXPECT_EQ(parse_error({"--duration", "-1"}),
              "--duration: expected a number of seconds >= 0, got '-1'");
    EXPECT_EQ(parse_error({"--duration", "5s"}),
              "--duration: expected a number of seconds >= 0, got '5s'");
    EXPECT_EQ(parse_error({"--duration="}),
              "--duration: expected a number of seconds >= 0, got ''");
    EXPECT_EQ(parse_error({"--duration", "nan"}),
              "--duration: expected a number of seconds >= 0, got 'nan'");
}

TEST(parse_app_options, bad_idle_exit) {
    EXPECT_EQ(parse_error({"--idle-exit", "1.5"}),
              "--idle-exit: expected milliseconds as an integer, got '1.5'");
    EXPECT_EQ(parse_error({"--idle-exit", "-3"}),
              "--idle-exit: expected milliseconds as an integer, got '-3'");
    EXPECT_EQ(parse_error({"--idle-exit", "ten"}),
              "--idle-exit: expected milliseconds as an integer, got 'ten'");
    EXPECT_EQ(parse_error({"--idle-exit="}),
              "--idle-exit: expected milliseconds as an integer, got ''");
    EXPECT_EQ(parse_error({"--idle-exit", "4294967296"}),
              "--idle-exit: expected milliseconds as an integer, got '4294967296'");
    EXPECT_EQ(parse_ok({"--idle-exit", "4294967295"}).idle_exit_ms, 4294967295u);
}

TEST(parse_app_options, unknown_options) {
    EXPECT_EQ(parse_error({"--bogus"}), "unknown option '--bogus' (see --help)");
    EXPECT_EQ(parse_error({"-x"}), "unknown option '-x' (see --help)");
    EXPECT_EQ(parse_error({"file.toml"}), "unknown option 'file.toml' (see --help)");
    EXPECT_EQ(parse_error({"--bogus=1"}), "unknown option '--bogus=1' (see --help)");
    // -c=FILE is not the --opt=value form: short options take a separate value.
    EXPECT_EQ(parse_error({"-c=a.toml"}), "unknown option '-c=a.toml' (see --help)");
}

TEST(parse_app_options, stops_at_the_first_error_and_returns_what_was_parsed) {
    std::string error;
    const app_options o = parse_app_options({"-q", "--bogus", "--version"}, error);
    EXPECT_EQ(error, "unknown option '--bogus' (see --help)");
    EXPECT_TRUE(o.quiet);
    EXPECT_FALSE(o.version);
}

TEST(usage_text, names_the_program_and_every_option) {
    const std::string u = usage_text("dpdk-app");
    EXPECT_EQ(u.rfind("usage: dpdk-app [EAL options] -- [options]\n", 0), 0u) << u;
    for (const char* opt : {"--config", "--check-config", "--duration", "--idle-exit",
                            "--stats-json", "--quiet", "--version", "--help"}) {
        EXPECT_NE(u.find(opt), std::string::npos) << opt;
    }
}

class vdev_files : public ::testing::Test {
  protected:
    void SetUp() override {
        existing_ =
            ::testing::TempDir() + "unit_options_rx_" + std::to_string(::getpid()) + ".pcap";
        std::FILE* f = std::fopen(existing_.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fclose(f);
    }
    void TearDown() override { std::remove(existing_.c_str()); }

    std::string existing_;
};

TEST_F(vdev_files, no_vdev_is_fine) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "-l", "0", "--no-pci"}), "");
    EXPECT_EQ(check_vdev_files({}), "");
}

TEST_F(vdev_files, missing_rx_pcap_is_reported) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_pcap0,rx_pcap=/nonexistent/in.pcap"}),
              "net_pcap0: rx_pcap file '/nonexistent/in.pcap' does not exist or is not readable");
}

TEST_F(vdev_files, missing_rx_pcap_in_separate_vdev_argument) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev", "net_pcap1,rx_pcap=/nonexistent/in.pcap"}),
              "net_pcap1: rx_pcap file '/nonexistent/in.pcap' does not exist or is not readable");
}

TEST_F(vdev_files, existing_rx_pcap_is_fine) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_pcap0,rx_pcap=" + existing_}), "");
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev", "net_pcap0,rx_pcap=" + existing_}), "");
}

TEST_F(vdev_files, tx_pcap_into_a_missing_directory_is_reported) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_pcap0,rx_pcap=" + existing_ +
                                                ",tx_pcap=/nonexistent/dir/out.pcap"}),
              "net_pcap0: cannot write tx_pcap file '/nonexistent/dir/out.pcap': directory "
              "'/nonexistent/dir' does not exist or is not writable");
}

TEST_F(vdev_files, tx_pcap_into_an_existing_directory_is_fine) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_pcap0,tx_pcap=" + ::testing::TempDir() +
                                                "unit_out.pcap"}),
              "");
    // A bare file name is written to the current directory.
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_pcap0,tx_pcap=out.pcap"}), "");
}

TEST_F(vdev_files, the_second_vdev_is_checked_too) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_pcap0,rx_pcap=" + existing_,
                                "--vdev=net_pcap1,rx_pcap=/nonexistent/b.pcap"}),
              "net_pcap1: rx_pcap file '/nonexistent/b.pcap' does not exist or is not readable");
}

TEST_F(vdev_files, other_vdev_arguments_are_ignored) {
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev=net_tap0,iface=dpa0", "--vdev=net_null0"}), "");
    // --vdev as the last argument has no value to check.
    EXPECT_EQ(check_vdev_files({"dpdk-app", "--vdev"}), "");
}

TEST(wants_no_huge, detects_the_exact_flag) {
    EXPECT_TRUE(wants_no_huge({"dpdk-app", "-l", "0", "--no-huge"}));
    EXPECT_TRUE(wants_no_huge({"dpdk-app", "--no-huge", "-m", "512"}));
    EXPECT_FALSE(wants_no_huge({"dpdk-app", "-l", "0"}));
    EXPECT_FALSE(wants_no_huge({"dpdk-app", "--no-hugepages"}));
    EXPECT_FALSE(wants_no_huge({}));
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

TEST(parse_app_options, flags_take_no_value) {
    EXPECT_EQ(parse_error({"--quiet=1"}), "option --quiet takes no value");
    EXPECT_EQ(parse_error({"--check-config=x"}), "option --check-config takes no value");
    EXPECT_EQ(parse_error({"--help=yes"}), "option --help takes no value");
}

TEST(parse_app_options, duration_must_be_finite) {
    EXPECT_EQ(parse_error({"--duration", "inf"}),
              "--duration: expected a number of seconds >= 0, got 'inf'");
    EXPECT_EQ(parse_error({"--duration", "nan"}),
              "--duration: expected a number of seconds >= 0, got 'nan'");
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

// -l on a machine with fewer CPUs: each lcore onto an available CPU in turn.
TEST(map_lcores_to_cpus, a_list_beyond_the_cpus_becomes_an_lcores_mapping) {
    std::vector<std::string> eal = {"dpdk-app", "-l", "0-3", "--vdev=net_tap0"};
    const std::string notice = map_lcores_to_cpus(eal, {0, 1});
    EXPECT_THAT(eal, ElementsAre("dpdk-app", "--lcores", "0@0,1@1,2@0,3@1", "--vdev=net_tap0"));
    EXPECT_THAT(notice, ::testing::HasSubstr("-l 0-3 names CPUs this machine does not offer "
                                             "(available: 0,1); running as --lcores "
                                             "0@0,1@1,2@0,3@1"));
    // Joined form, a list with gaps, CPUs that do not start at 0.
    eal = {"dpdk-app", "-l1,3,5-6"};
    EXPECT_NE(map_lcores_to_cpus(eal, {2, 3}), "");
    EXPECT_THAT(eal, ElementsAre("dpdk-app", "--lcores=1@2,3@3,5@2,6@3"));
}

TEST(map_lcores_to_cpus, changes_nothing_when_every_cpu_is_there_or_the_user_placed_them) {
    const std::vector<std::vector<std::string>> keep = {
        {"dpdk-app", "-l", "0-1"},                          // both CPUs exist
        {"dpdk-app", "-l", "1"},
        {"dpdk-app", "--lcores", "(0-3)@(0-1)"},            // explicit placement
        {"dpdk-app", "-l", "0-3", "--lcores=0@0,1@1"},      // both: EAL decides
        {"dpdk-app", "-c", "0xf"},                          // a mask
        {"dpdk-app", "-c0xf", "-l", "0-3"},
        {"dpdk-app", "--no-pci"},                           // no list: EAL's default
        {"dpdk-app", "-l"},                                 // no value: EAL's error
        {"dpdk-app", "-l", "3-1"},                          // not a list EAL takes
        {"dpdk-app", "-l", "0,0"},
        {"dpdk-app", "-l", "a-b"},
        {"dpdk-app", "-l", "0-2000"},
    };
    for (const auto& args : keep) {
        auto eal = args;
        EXPECT_EQ(map_lcores_to_cpus(eal, {0, 1}), "") << ::testing::PrintToString(args);
        EXPECT_EQ(eal, args);
    }
    std::vector<std::string> eal = {"dpdk-app", "-l", "0-3"};
    EXPECT_EQ(map_lcores_to_cpus(eal, {}), "") << "affinity unknown: EAL decides";
}

TEST(available_cpus, lists_at_least_the_cpu_this_runs_on) {
    const auto cpus = available_cpus();
    ASSERT_FALSE(cpus.empty());
    EXPECT_TRUE(std::is_sorted(cpus.begin(), cpus.end()));
    EXPECT_LE(cpus.size(), static_cast<std::size_t>(sysconf(_SC_NPROCESSORS_CONF)));
}

}  // namespace
}  // namespace dpdk_app
