// A generation: everything the dataplane compiled from one configuration
// (interfaces and addresses, route tables, static neighbours; the tables of
// later stages), immutable once published. The workers read the current
// generation once per burst (stage_context::tables); the control thread
// builds the next one off the fast path and publishes it with one atomic
// pointer swap, then frees the old one after one RCU grace period
// (rte_rcu_qsbr). State that must outlive a reload (neighbour cache,
// connection entries, meter buckets) is not in a generation.
//
// The framework knows no feature: a generation holds each feature's tables
// by type, one table per type, in a slot the type gets on first use.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_rcu_qsbr.h>

namespace dpdk_app {

namespace generation_detail {
inline constexpr std::size_t max_tables = 16;
unsigned next_table_slot() noexcept;  // 0, 1, 2, ... (aborts past max_tables)
// The slot of table type T, the same in every generation (a plain load).
template <class T>
inline const unsigned table_slot = next_table_slot();
}  // namespace generation_detail

class generation {
  public:
    explicit generation(uint64_t number) noexcept;
    ~generation();
    generation(const generation&) = delete;
    generation& operator=(const generation&) = delete;

    // 1 for the configuration the process started with, +1 per reload.
    uint64_t number() const noexcept { return number_; }

    // Adds a feature's table (control side, before publishing). A second
    // table of the same type replaces the first.
    template <class T>
    void add(std::unique_ptr<T> table) {
        const unsigned slot = generation_detail::table_slot<T>;
        release(slot);
        tables_[slot] = table.release();
        deleters_[slot] = [](const void* p) { delete static_cast<const T*>(p); };
    }
    // The table of type T, or nullptr when this generation has none.
    template <class T>
    const T* find() const noexcept {
        return static_cast<const T*>(tables_[generation_detail::table_slot<T>]);
    }

    // Generations alive in this process right now (published, waiting for
    // their grace period, or being built): 1 between reloads.
    static uint64_t alive() noexcept;

  private:
    void release(unsigned slot) noexcept;

    uint64_t number_;
    std::array<const void*, generation_detail::max_tables> tables_{};
    std::array<void (*)(const void*), generation_detail::max_tables> deleters_{};
};

// Where the workers find the current generation. Readers load it at the top
// of a burst; the control thread publishes the next one and frees the old
// one once every registered reader reported a quiescent state.
class generation_store {
  public:
    // qsbr: the readers' RCU state (nullptr: no readers, e.g. in tests).
    explicit generation_store(rte_rcu_qsbr* qsbr) noexcept : qsbr_(qsbr) {}
    ~generation_store();
    generation_store(const generation_store&) = delete;
    generation_store& operator=(const generation_store&) = delete;

    const generation* current() const noexcept { return current_.load(std::memory_order_acquire); }
    // caller_thread: the caller's QSBR thread id if it is itself a reader
    // (the main lcore running a segment), else RTE_QSBR_THRID_INVALID.
    // Returns the generation it replaced once no reader can still use it
    // (after the grace period): the caller reads what must outlive it (the
    // counters it holds) and frees it.
    std::unique_ptr<generation> publish(std::unique_ptr<generation> next, unsigned caller_thread);

  private:
    rte_rcu_qsbr* qsbr_;
    std::atomic<const generation*> current_{nullptr};
    std::unique_ptr<generation> owned_;
};

}  // namespace dpdk_app
