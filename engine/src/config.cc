#include "gputls/engine/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "gputls/engine/key.h"  // kMaxDevices

namespace gputls::engine {

std::optional<Policy> parse_policy(const std::string& s) {
  if (s == "gpu") return Policy::kGpu;
  if (s == "cpu") return Policy::kCpu;
  if (s == "auto") return Policy::kAuto;
  if (s == "null") return Policy::kNull;
  return std::nullopt;
}

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::kGpu: return "gpu";
    case Policy::kCpu: return "cpu";
    case Policy::kAuto: return "auto";
    case Policy::kNull: return "null";
  }
  return "?";
}

namespace {

// "deadline_us" -> "GPUTLS_DEADLINE_US"
std::string env_name(const std::string& name) {
  std::string env = "GPUTLS_";
  for (char c : name) env += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

bool parse_u32(const std::string& name, const std::string& v, uint32_t lo, uint32_t hi, uint32_t* out,
               std::string* error) {
  errno = 0;
  char* end = nullptr;
  unsigned long long x = v.empty() ? 0 : std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || *end != '\0' || v[0] == '-' || x < lo || x > hi) {
    *error = "gputls: " + name + "=\"" + v + "\" is not an integer in [" + std::to_string(lo) + ", " +
             std::to_string(hi) + "]";
    return false;
  }
  *out = static_cast<uint32_t>(x);
  return true;
}

// " 2 " -> "2": list items may be written with spaces after the commas.
std::string trim_spaces(const std::string& s) {
  const size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// GPUTLS_CUDA_DEVICE: one ordinal ("1"), a list of distinct ordinals ("0,2")
// or "all". On a malformed value says what is wrong and what is accepted.
bool parse_cuda_devices(const std::string& env, const std::string& v, std::vector<int>* ordinals, bool* all,
                        std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = "gputls: " + env + "=\"" + v + "\" " + why +
             "; give a device index (0), a comma-separated list of them (0,2) or all";
    return false;
  };
  if (trim_spaces(v) == "all") {
    *all = true;
    ordinals->clear();
    return true;
  }
  std::vector<int> list;
  size_t start = 0;
  for (;;) {
    const size_t comma = v.find(',', start);
    const std::string item = trim_spaces(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    uint32_t d;
    std::string why;
    if (!parse_u32(env, item, 0, std::numeric_limits<int32_t>::max(), &d, &why))
      return fail(item.empty() ? "has an empty entry" : "has \"" + item + "\", not a device index");
    if (std::find(list.begin(), list.end(), static_cast<int>(d)) != list.end())
      return fail("names device " + item + " twice");
    list.push_back(static_cast<int>(d));
    if (list.size() > kMaxDevices) return fail("names more than " + std::to_string(kMaxDevices) + " devices");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *all = false;
  *ordinals = std::move(list);
  return true;
}

}  // namespace

bool Config::set(const std::string& name, const std::string& value, std::string* error) {
  const std::string env = env_name(name);
  if (name == "policy") {
    auto p = parse_policy(value);
    if (!p) {
      *error = "gputls: " + env + "=\"" + value + "\" must be one of gpu, cpu, auto, null";
      return false;
    }
    policy = *p;
    return true;
  }
  if (name == "batch") return parse_u32(env, value, 1, 1u << 16, &batch_size, error);
  if (name == "gpu_batch") return parse_u32(env, value, 1, 1u << 16, &gpu_batch_size, error);
  if (name == "deadline_us") return parse_u32(env, value, 0, 10'000'000, &deadline_us, error);
  if (name == "queue_capacity") return parse_u32(env, value, 1, 1u << 24, &queue_capacity, error);
  if (name == "max_keys") return parse_u32(env, value, 1, 1u << 24, &max_keys, error);
  if (name == "flushers") return parse_u32(env, value, 0, 64, &flusher_threads, error);
  if (name == "auto_min_batch") return parse_u32(env, value, 1, 1u << 16, &auto_min_batch, error);
  if (name == "aes_gpu_min_bytes") return parse_u32(env, value, 0, 1u << 20, &aes_gpu_min_bytes, error);
  if (name == "busy_software_max") return parse_u32(env, value, 0, 1u << 16, &busy_software_max, error);
  if (name == "key_share_pool") return parse_u32(env, value, 0, 1u << 16, &key_share_pool, error);
  if (name == "key_share_max_age_ms")
    return parse_u32(env, value, 1, 3'600'000, &key_share_max_age_ms, error);
  if (name == "cuda_device") return parse_cuda_devices(env, value, &cuda_devices, &all_cuda_devices, error);
  if (name == "inline") {
    uint32_t v;
    if (!parse_u32(env, value, 0, 2, &v, error)) return false;
    inline_without_gpu = v != 0;
    inline_records_only = v == 2;
    return true;
  }
  if (name == "quiet") {
    uint32_t q;
    if (!parse_u32(env, value, 0, 1, &q, error)) return false;
    quiet = q != 0;
    return true;
  }
  *error = "gputls: unknown setting \"" + name + "\"";
  return false;
}

const std::vector<std::string>& Config::setting_names() {
  static const std::vector<std::string> kNames = {"policy",   "batch",          "gpu_batch",   "deadline_us",
                                                  "queue_capacity", "max_keys", "flushers", "auto_min_batch",
                                                  "cuda_device", "quiet", "inline", "aes_gpu_min_bytes",
                                                  "busy_software_max", "key_share_pool", "key_share_max_age_ms"};
  return kNames;
}

bool Config::apply_env(std::string* error) {
  for (const std::string& name : setting_names()) {
    if (const char* v = std::getenv(env_name(name).c_str())) {
      if (!set(name, v, error)) return false;
    }
  }
  return true;
}

std::optional<Config> Config::from_env(std::string* error) {
  Config c;
  if (!c.apply_env(error)) return std::nullopt;
  return c;
}

}  // namespace gputls::engine
