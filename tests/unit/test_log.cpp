// Log settings as the configuration ([log]) and the command line (--log)
// give them: levels and components by name, every mistake an error that
// names the accepted words; the order of settings (all first, then each
// component) is the order they apply in.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/options.hpp"
#include "log/log.hpp"

namespace dpdk_app {
namespace {

TEST(log_setting, levels_and_components_by_name) {
    std::string error;
    auto s = parse_log_setting("debug", error);
    ASSERT_TRUE(s) << error;
    EXPECT_FALSE(s->component);
    EXPECT_EQ(s->level, log_level::debug);
    s = parse_log_setting("flow:WARNING", error);
    ASSERT_TRUE(s) << error;
    EXPECT_EQ(s->component, log_component::flow);
    EXPECT_EQ(s->level, log_level::warning);
    EXPECT_EQ(parse_log_setting("neighbors:err", error)->level, log_level::error);
    EXPECT_EQ(parse_log_level("warn"), log_level::warning);
    for (unsigned l = 1; l <= 8; ++l) {
        EXPECT_EQ(parse_log_level(name_of(static_cast<log_level>(l))), static_cast<log_level>(l));
    }
}

TEST(log_setting, mistakes_name_the_accepted_words) {
    std::string error;
    EXPECT_FALSE(parse_log_setting("verbose", error));
    EXPECT_EQ(error, "unknown log level 'verbose' (expected one of emerg, alert, crit, error, "
                     "warning, notice, info, debug)");
    EXPECT_FALSE(parse_log_setting("flows:debug", error));
    EXPECT_EQ(error, "unknown log component 'flows' (expected one of app, config, dataplane, "
                     "neighbors, flow)");
}

TEST(log_config, the_section_sets_all_first_then_each_component) {
    const config_result r = parse_config("[log]\nflow = \"debug\"\nlevel = \"warning\"\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
    ASSERT_EQ(r.config.log.size(), 2u);
    EXPECT_EQ(r.config.log[0], (log_setting{std::nullopt, log_level::warning}));
    EXPECT_EQ(r.config.log[1], (log_setting{log_component::flow, log_level::debug}));
}

TEST(log_config, errors_carry_their_position) {
    config_result r = parse_config("[log]\nflow = \"loud\"\n", "t.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(),
              "t.toml:2:8: log.flow: unknown log level 'loud' (expected one of emerg, alert, "
              "crit, error, warning, notice, info, debug)");
    r = parse_config("[log]\nflows = \"debug\"\n", "t.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "t.toml:2:1: unknown key 'log.flows'");
    r = parse_config("[log]\nlevel = 3\n", "t.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "t.toml:2:9: log.level: expected a level string, e.g. \"debug\"");
}

TEST(log_options, log_is_repeatable_and_checked) {
    std::string error;
    const app_options o = parse_app_options({"--log", "info", "--log=flow:debug"}, error);
    ASSERT_EQ(error, "");
    ASSERT_EQ(o.log.size(), 2u);
    EXPECT_EQ(o.log[1], (log_setting{log_component::flow, log_level::debug}));
    parse_app_options({"--log", "flow:chatty"}, error);
    EXPECT_THAT(error, ::testing::StartsWith("--log: unknown log level 'chatty'"));
}

}  // namespace
}  // namespace dpdk_app
