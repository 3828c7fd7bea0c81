// A run as JSON (bench/handshake/schema.json, DESIGN.md's benchmark output)
// and as a row of the summary table.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "pk_cost.h"
#include "runner.h"

namespace gputls::bench {

struct ReportContext {
  std::string command;                  // the exact command line
  std::map<std::string, double> pk_us;        // calibrated CPU per public-key op
  std::map<std::string, double> pk_setup_us;  // its EVP set-up, not counted in pk_us
};

nlohmann::json run_json(const RunConfig& cfg, const RunResult& r, const ReportContext& ctx);

void print_header();
// `vs_default`: this run's handshakes/s over the default provider's at the
// same concurrency (0: none).
void print_row(const nlohmann::json& run, double vs_default);

}  // namespace gputls::bench
