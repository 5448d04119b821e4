#include "flow/flow_stage.hpp"

#include <rte_random.h>

#include "pipeline/generated.hpp"

namespace dpdk_app {

std::unique_ptr<flow_stage> flow_stage::create(unsigned lane, const flow_config& config,
                                               flow_exporter& exporter, uint64_t tsc_hz,
                                               std::string& error) {
    std::unique_ptr<flow_stage> s(new flow_stage());
    const flow_timeouts t{.inactive = uint64_t{config.inactive_timeout} * tsc_hz,
                          .active = uint64_t{config.active_timeout} * tsc_hz,
                          .linger = uint64_t{config.fin_linger_ms} * tsc_hz / 1000};
    s->table_ = flow_table::create(lane, config.max_flows, t, exporter.sink(lane),
                                   exporter.clock(), config.top, error);
    if (!s->table_) {
        return nullptr;
    }
    s->egress_known_ = config.packets == flow_packets::forwarded;
    s->sampling_ = config.sampling;
    s->random_ = config.sampling_random;
    s->idle_period_ = tsc_hz / 1000;  // 1 ms
    exporter.attach(lane, s->table_.get(), &s->sampled_out_);
    return s;
}

bool flow_stage::sampled() noexcept {
    if (random_) {
        return rte_rand_max(sampling_) == 0;
    }
    if (skip_ == 0) {
        skip_ = sampling_ - 1;
        return true;
    }
    --skip_;
    return false;
}

void flow_stage::process(burst& b, stage_context& ctx) noexcept {
    const uint64_t now = ctx.now();
    if (sampling_ == 1 && !b.has_generated) {
        table_->update(b.pkts.data(), b.count, now, b.out_port, egress_known_);
    } else {
        std::array<rte_mbuf*, max_burst> counted;
        uint16_t n = 0;
        uint32_t passed = 0;
        for (uint16_t i = 0; i < b.count; ++i) {
            rte_mbuf* m = b.pkts[i];
            if (b.has_generated && is_generated(m)) {
                continue;
            }
            if (sampling_ != 1 && !sampled()) {
                ++passed;
                continue;
            }
            counted[n++] = m;
        }
        if (passed != 0) {
            sampled_out_.add(passed);
        }
        table_->update(counted.data(), n, now, b.out_port, egress_known_);
    }
    table_->expire(now, expire_per_burst);
}

void flow_stage::idle(uint64_t now) noexcept {
    if (now - last_idle_ >= idle_period_) {
        last_idle_ = now;
        table_->expire(now, expire_per_idle);
    }
}

}  // namespace dpdk_app
