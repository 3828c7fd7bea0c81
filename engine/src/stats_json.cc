// Engine::stats_json: the engine's state and counters as one JSON document.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "backends.h"
#include "gpu_device.h"
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
    case Fallback::kDeviceOut: return "device_out_of_rotation";
    case Fallback::kCount: break;
  }
  return "unknown";
}

namespace {

uint64_t get(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

template <size_t N>
std::array<uint64_t, N> load_all(const std::array<std::atomic<uint64_t>, N>& a) {
  std::array<uint64_t, N> v{};
  for (size_t i = 0; i < N; ++i) v[i] = get(a[i]);
  return v;
}

nlohmann::json duration_json(const DurationStat& d) {
  uint64_t n = get(d.count);
  return {{"count", n},
          {"mean_us", n ? static_cast<double>(get(d.sum_ns)) / n / 1000.0 : 0.0},
          {"max_us", static_cast<double>(get(d.max_ns)) / 1000.0}};
}

// Only non-zero entries, so the JSON stays readable.
template <size_t N, class NameFn>
nlohmann::json counts_json(const std::array<uint64_t, N>& a, NameFn name) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < N; ++i)
    if (a[i]) j[std::string(name(i))] = a[i];
  return j;
}

nlohmann::json op_json(const RequestQueue& q, const OpStats& st) {
  const OpStats::Counts s = st.counts();
  nlohmann::json hist = nlohmann::json::object();
  for (size_t b = 0; b < OpStats::kHistBuckets; ++b) {
    if (uint64_t v = s.batch_hist[b]) {
      size_t hi = size_t{1} << b, lo = b == 0 ? 1 : (hi >> 1) + 1;
      hist[lo == hi ? std::to_string(hi) : std::to_string(lo) + "-" + std::to_string(hi)] = v;
    }
  }
  return {
      {"op", op_name(q.op())},
      {"bits", q.bits()},
      {"queued", q.depth()},
      {"submitted", s.submitted},
      {"completed", s.completed},
      {"failed", s.failed},
      {"busy_rejections", s.busy},
      {"batches", s.batches},
      {"batch_size_histogram", hist},
      {"served_by", counts_json(s.served, [](size_t i) { return backend_name(static_cast<BackendKind>(i)); })},
      {"fallbacks", counts_json(s.fallbacks, [](size_t i) { return fallback_name(static_cast<Fallback>(i)); })},
      {"errors", counts_json(s.errors, [](size_t i) { return status_name(static_cast<Status>(i)); })},
      {"queue_wait", duration_json(st.queue_wait)},
      {"service", duration_json(st.service)},
  };
}

nlohmann::json device_json(const GpuDevice& d) {
  const DeviceRotation& r = d.rotation;
  return {{"index", d.ordinal},
          {"description", d.backend->description()},
          {"in_rotation", r.in_rotation()},
          {"failed_batches_in_row", r.failed_in_row()},
          {"trips", r.trips()},
          {"probes", r.probes()},
          {"retry_in_ms", r.retry_in_ms()},
          {"batches", get(d.batches)},
          {"requests_served", get(d.requests_served)},
          {"requests_in_flight", get(d.requests_in_flight)}};
}

// The GPU side as one breaker, as it read when the engine drove one device:
// out of rotation only when every device is (the CPU then serves it all);
// trips and probes summed; the longest run of failures; the soonest probe.
nlohmann::json rotation_summary_json(const std::vector<std::unique_ptr<GpuDevice>>& devices) {
  bool in_rotation = devices.empty();
  uint32_t failed_in_row = 0;
  uint64_t trips = 0, probes = 0, retry_in_ms = UINT64_MAX;
  for (const auto& d : devices) {
    const DeviceRotation& r = d->rotation;
    in_rotation |= r.in_rotation();
    failed_in_row = std::max(failed_in_row, r.failed_in_row());
    trips += r.trips();
    probes += r.probes();
    retry_in_ms = std::min(retry_in_ms, r.retry_in_ms());
  }
  return {{"in_rotation", in_rotation},
          {"failed_batches_in_row", failed_in_row},
          {"trips", trips},
          {"probes", probes},
          {"retry_in_ms", in_rotation ? 0 : retry_in_ms}};
}

}  // namespace

OpStats::Counts OpStats::counts() const {
  Counts c{};
  // Failures first: run_now() counts one only after its ran_now, so this
  // read order never sees more failed than ran (the min guards it anyway).
  const uint64_t now_failed = get(ran_now_failed), now = get(ran_now);
  c.submitted = get(submitted) + now;
  c.completed = get(completed) + (now - std::min(now, now_failed));
  c.failed = get(failed);  // complete() counts every failure, queued or not
  c.busy = get(busy);
  c.batches = get(batches) + now;
  c.batch_hist = load_all(batch_hist);
  c.batch_hist[0] += now;
  c.served = load_all(served);
  c.served[static_cast<size_t>(BackendKind::kCpu)] += now;
  c.fallbacks = load_all(fallbacks);
  c.errors = load_all(errors);
  return c;
}

std::string Engine::stats_json() const {
  nlohmann::json ops = nlohmann::json::array();
  const size_t n = queue_count_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) ops.push_back(op_json(*queues_[i], queues_[i]->stats()));
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : devices_) devices.push_back(device_json(*d));
  nlohmann::json j = {
      {"policy", policy_name(config_.policy)},
      {"batch_size", config_.batch_size},
      {"gpu_batch_size", config_.gpu_batch_size},
      {"deadline_us", config_.deadline_us},
      {"queue_capacity", config_.queue_capacity},
      {"flusher_threads", config_.flusher_threads},
      {"cpu", cpu_->description()},
      {"gpu", gpu_description()},
      {"device_rotation", rotation_summary_json(devices_)},
      {"devices", devices},
      {"keys_live", keys_->live_count()},
      // Ephemeral keys the CPU backend imported (public key computed on the
      // host): only those it served. With a GPU serving keygen, none.
      {"cpu_keys_imported", cpu_->keys_imported()},
      {"keys_capacity", keys_->capacity()},
      {"batches_in_flight", in_flight_.load()},
      {"rejected", counts_json(load_all(rejected_), [](size_t i) { return status_name(static_cast<Status>(i)); })},
      {"ops", ops},
  };
  return j.dump(2);
}

}  // namespace gputls::engine
