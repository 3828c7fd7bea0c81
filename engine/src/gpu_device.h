// One GPU the engine drives: its backend, its circuit breaker, and the
// requests it has in flight (the queue depth the engine spreads batches by).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "device_rotation.h"
#include "gputls/engine/backend.h"

namespace gputls::engine {

// Aligned to a cache line: each device's counters are updated by its own
// worker thread as its batches finish.
struct alignas(64) GpuDevice {
  GpuDevice(uint32_t index, int ordinal, std::unique_ptr<Backend> b)
      : index(index), ordinal(ordinal), backend(std::move(b)) {
    backend->set_device_index(index);
  }

  const uint32_t index;  // position in the engine's device list: the key's device_state slot
  const int ordinal;     // CUDA ordinal (GPUTLS_CUDA_DEVICE); the index for test backends
  const std::unique_ptr<Backend> backend;
  DeviceRotation rotation;
  // Added when a batch is launched here, subtracted when it finishes.
  std::atomic<uint64_t> requests_in_flight{0};
  // Batches that finished here, and their requests the device served (not
  // those re-run on the CPU after a device error).
  std::atomic<uint64_t> batches{0}, requests_served{0};

  uint64_t in_flight() const { return requests_in_flight.load(std::memory_order_relaxed); }
  bool holds(const KeyEntry& key) const {
    const BackendKeyState* s = key.device_state_for(index);
    return s && s->usable();
  }
};

}  // namespace gputls::engine
