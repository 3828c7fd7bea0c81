// Status codes returned by every engine call. Errors are values: nothing in
// the engine throws across its public interface, so the OpenSSL provider can
// call it from C callbacks.
#pragma once

#include <cstdint>
#include <string_view>

namespace gputls::engine {

enum class Status : uint32_t {
  kOk = 0,
  kPending,          // request accepted, not finished yet (never a final state)
  kBusy,             // queue full: caller should run the operation itself (CPU)
  kInvalidArgument,  // malformed request (sizes, null buffers, unknown op)
  kUnsupported,      // no backend implements this op / key type
  kStaleKey,         // key handle refers to a freed or reused key slot
  kKeyTableFull,     // no free key slot
  kBadKey,           // key material rejected at registration
  kCryptoFailure,    // backend computed and rejected the result (e.g. OpenSSL error)
  kDeviceError,      // GPU error; requests were re-run on the CPU when possible
  kShutdown,         // engine is shutting down / shut down
  kWrongProcess,     // engine was created by another process (used after fork)
  kBadIvLength,      // AES-GCM: the IV is not 96 bits (12 bytes), the only length served
};

// Human-readable name, stable: used in stats JSON and error messages.
std::string_view status_name(Status s);

// One sentence that tells a user what happened and what to do.
std::string_view status_message(Status s);

}  // namespace gputls::engine
