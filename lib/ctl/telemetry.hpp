// DPDK telemetry commands (/dpdk_app/...), answered from the telemetry
// thread while the lanes run.
#pragma once

#include "dataplane/dataplane.hpp"

namespace dpdk_app {

// Registers the commands (once per process) and points them at dp;
// nullptr detaches them (before dp goes away): they then answer empty.
void telemetry_attach(const dataplane* dp);

}  // namespace dpdk_app
