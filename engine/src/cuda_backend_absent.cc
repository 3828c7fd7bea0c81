// Built without CUDA (GPUTLS_CUDA=OFF, or no nvcc at configure time): there is
// no GPU backend, and the engine says so once and runs on the CPU.
#include "gputls/engine/cuda_backend.h"

namespace gputls::engine {

bool cuda_compiled_in() { return false; }

int cuda_device_count(std::string* why) {
  *why = "gputls was built without CUDA";
  return 0;
}

std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions&, std::string* why) {
  *why = "gputls was built without CUDA";
  return nullptr;
}

}  // namespace gputls::engine
