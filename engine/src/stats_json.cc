// Engine::stats_json: the engine's state and counters as one JSON document.
#include <nlohmann/json.hpp>

#include "backends.h"
#include "gputls/engine/engine.h"
#include "request_queue.h"

namespace gputls::engine {

std::string_view fallback_name(Fallback f) {
  switch (f) {
    case Fallback::kNoDevice: return "no_device";
    case Fallback::kUnsupported: return "unsupported";
    case Fallback::kKeyNotOnDevice: return "key_not_on_device";
    case Fallback::kDeviceError: return "device_error";
    case Fallback::kRecordSize: return "record_size";
    case Fallback::kCount: break;
  }
  return "unknown";
}

namespace {

uint64_t get(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

nlohmann::json duration_json(const DurationStat& d) {
  uint64_t n = get(d.count);
  return {{"count", n},
          {"mean_us", n ? static_cast<double>(get(d.sum_ns)) / n / 1000.0 : 0.0},
          {"max_us", static_cast<double>(get(d.max_ns)) / 1000.0}};
}

// Only non-zero entries, so the JSON stays readable.
template <size_t N, class NameFn>
nlohmann::json counts_json(const std::array<std::atomic<uint64_t>, N>& a, NameFn name) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < N; ++i)
    if (uint64_t v = get(a[i])) j[std::string(name(i))] = v;
  return j;
}

nlohmann::json op_json(const RequestQueue& q, const OpStats& s) {
  nlohmann::json hist = nlohmann::json::object();
  for (size_t b = 0; b < OpStats::kHistBuckets; ++b) {
    if (uint64_t v = get(s.batch_hist[b])) {
      size_t hi = size_t{1} << b, lo = b == 0 ? 1 : (hi >> 1) + 1;
      hist[lo == hi ? std::to_string(hi) : std::to_string(lo) + "-" + std::to_string(hi)] = v;
    }
  }
  return {
      {"op", op_name(q.op())},
      {"bits", q.bits()},
      {"queued", q.depth()},
      {"submitted", get(s.submitted)},
      {"completed", get(s.completed)},
      {"failed", get(s.failed)},
      {"busy_rejections", get(s.busy)},
      {"batches", get(s.batches)},
      {"batch_size_histogram", hist},
      {"served_by", counts_json(s.served, [](size_t i) { return backend_name(static_cast<BackendKind>(i)); })},
      {"fallbacks", counts_json(s.fallbacks, [](size_t i) { return fallback_name(static_cast<Fallback>(i)); })},
      {"errors", counts_json(s.errors, [](size_t i) { return status_name(static_cast<Status>(i)); })},
      {"queue_wait", duration_json(s.queue_wait)},
      {"service", duration_json(s.service)},
  };
}

}  // namespace

std::string Engine::stats_json() const {
  nlohmann::json ops = nlohmann::json::array();
  const size_t n = queue_count_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) ops.push_back(op_json(*queues_[i], queues_[i]->stats()));
  nlohmann::json j = {
      {"policy", policy_name(config_.policy)},
      {"batch_size", config_.batch_size},
      {"deadline_us", config_.deadline_us},
      {"queue_capacity", config_.queue_capacity},
      {"flusher_threads", config_.flusher_threads},
      {"cpu", cpu_->description()},
      {"gpu", gpu_description()},
      {"keys_live", keys_->live_count()},
      {"keys_capacity", keys_->capacity()},
      {"batches_in_flight", in_flight_.load()},
      {"rejected", counts_json(rejected_, [](size_t i) { return status_name(static_cast<Status>(i)); })},
      {"ops", ops},
  };
  return j.dump(2);
}

}  // namespace gputls::engine
