// Engine configuration: one struct, filled from GPUTLS_* environment variables
// or set by the caller (the provider maps its params onto it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gputls::engine {

class Backend;

enum class Policy : uint8_t {
  kGpu,   // GPU for every op it supports; CPU (counted as a fallback) otherwise
  kCpu,   // CPU backend only (OpenSSL default provider in a private library context)
  kAuto,  // GPU when a batch is deep enough to pay, CPU otherwise
  kNull,  // complete instantly without computing: measures the engine's own cost
};

struct Config {
  Policy policy = Policy::kAuto;
  uint32_t batch_size = 64;         // flush a queue when it holds this many requests
  // ... or this many for a queue whose batches go to the GPU (policy gpu or
  // auto, an op and key size the device serves): the kernels run one request
  // per thread and an H100 holds tens of thousands at once (static model,
  // bench/results/model-*/gpu_model.json requests_in_flight); the deadline
  // still flushes whatever is queued under light load. Unmeasured default: set
  // it from bench/micro_rsa engine_gpu rows on the target GPU.
  uint32_t gpu_batch_size = 4096;
  uint32_t deadline_us = 200;       // ... or when its oldest request is this old
  // per (op, key size); submit() answers kBusy beyond. Four GPU batches: one
  // can fill while the queue keeps taking requests.
  uint32_t queue_capacity = 16384;
  uint32_t max_keys = 16384;        // key table slots
  uint32_t flusher_threads = 1;     // 0: no threads, the caller drives poll()
  uint32_t auto_min_batch = 16;     // kAuto: smallest batch sent to the GPU
  // GPUTLS_CUDA_DEVICE: the CUDA devices the engine drives, one backend (and
  // one worker thread, one circuit breaker) each: these ordinals, or every
  // visible device when all_cuda_devices (at most kMaxDevices either way).
  std::vector<int> cuda_devices{0};
  bool all_cuda_devices = false;
  // AES-GCM records shorter than this (payload bytes) run on the CPU (AES-NI)
  // even when a batch goes to the GPU: copying a small record over PCIe and
  // back costs more than encrypting it. Unmeasured default: set it from
  // bench/micro_aes_gcm on the target GPU (engine_gpu vs openssl per size).
  uint32_t aes_gpu_min_bytes = 1024;
  // The provider runs an operation the engine refused as busy (its queue
  // full) in software on the caller's thread, at most this many at once in
  // the process; past that a caller waits for room in the queue (a blocking
  // caller sleeps, an ASYNC_JOB yields to its event loop) and tries again,
  // up to kBusyWaitLimit. 0: the number of CPUs (GPUTLS_BUSY_SOFTWARE_MAX).
  uint32_t busy_software_max = 0;
  bool quiet = false;               // suppress the one-line "no GPU" notice
  // Callers of the engine (the provider) run operations at once on their own
  // thread when nothing can batch them (Engine::prefers_run_now: no GPU,
  // policy cpu, or an AES-GCM record below aes_gpu_min_bytes), instead of
  // queueing them to the engine's threads and waiting or pausing.
  bool inline_without_gpu = true;
  // With inline_without_gpu: only AES-GCM records below aes_gpu_min_bytes run
  // on the caller's thread; public-key operations always queue, so the CPU
  // backend serves them on the engine's threads (GPUTLS_INLINE=2). The
  // caller's thread then pays what it would pay with a GPU doing the
  // public-key math: the benchmark's "public-key work off the host" figure.
  bool inline_records_only = false;
  // Key pairs (per kind: X25519, P-256, P-384) the provider keeps generated
  // ahead for TLS key shares when the engine queues public-key work (a GPU,
  // or inline_records_only): a handshake's key generation then takes one
  // instead of a round trip to the engine (GPUTLS_KEY_SHARE_POOL; 0: none
  // kept, every generation is a request). Refilled when ready plus
  // generating pairs fall to half; lowered to fit the key table.
  uint32_t key_share_pool = 128;
  // How long a pre-generated key pair may wait for its handshake; an older
  // one is never handed out, and is wiped unused by the next generation
  // (GPUTLS_KEY_SHARE_MAX_AGE_MS): an ephemeral key should not outlive its
  // moment by much.
  uint32_t key_share_max_age_ms = 60'000;

  // Tests and benchmarks only: replaces the CUDA backend (e.g. a backend that
  // injects device errors). Called once by the engine's constructor.
  std::function<std::unique_ptr<Backend>()> gpu_backend_factory;
  // Tests only: several devices, one backend from each factory, in this
  // order; the stats name each by its factory's position, as they name a
  // CUDA device by its ordinal. Takes precedence over gpu_backend_factory; a
  // factory that returns nullptr is a device that did not start (left out).
  // At most kMaxDevices are used.
  std::vector<std::function<std::unique_ptr<Backend>()>> gpu_backend_factories;

  // Reads GPUTLS_POLICY, GPUTLS_BATCH, GPUTLS_GPU_BATCH, GPUTLS_DEADLINE_US, GPUTLS_QUEUE_CAPACITY,
  // GPUTLS_MAX_KEYS, GPUTLS_FLUSHERS, GPUTLS_AUTO_MIN_BATCH, GPUTLS_CUDA_DEVICE,
  // GPUTLS_QUIET, GPUTLS_INLINE, GPUTLS_AES_GPU_MIN_BYTES over the defaults. On a malformed value returns nullopt and
  // says which variable and why in *error.
  static std::optional<Config> from_env(std::string* error);
  // The same, over this config's current values (the provider applies its
  // openssl.cnf settings first, then the environment).
  bool apply_env(std::string* error);

  // Names set() accepts, lower case: "policy", "batch", ...
  static const std::vector<std::string>& setting_names();

  // Applies one setting by its environment name without the GPUTLS_ prefix,
  // lower case ("policy", "batch", ...). Shared by from_env and the provider.
  bool set(const std::string& name, const std::string& value, std::string* error);
};

std::optional<Policy> parse_policy(const std::string& s);
const char* policy_name(Policy p);

}  // namespace gputls::engine
