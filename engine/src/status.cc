#include "gputls/engine/status.h"

namespace gputls::engine {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kPending: return "pending";
    case Status::kBusy: return "busy";
    case Status::kInvalidArgument: return "invalid_argument";
    case Status::kUnsupported: return "unsupported";
    case Status::kStaleKey: return "stale_key";
    case Status::kKeyTableFull: return "key_table_full";
    case Status::kBadKey: return "bad_key";
    case Status::kCryptoFailure: return "crypto_failure";
    case Status::kDeviceError: return "device_error";
    case Status::kShutdown: return "shutdown";
    case Status::kWrongProcess: return "wrong_process";
    case Status::kBadIvLength: return "bad_iv_length";
  }
  return "unknown";
}

std::string_view status_message(Status s) {
  switch (s) {
    case Status::kOk: return "success";
    case Status::kPending: return "request is still in flight";
    case Status::kBusy: return "engine queue is full; run the operation on the CPU or retry later";
    case Status::kInvalidArgument: return "request is malformed (check op, input and output sizes)";
    case Status::kUnsupported: return "no engine backend supports this operation or key";
    case Status::kStaleKey: return "key handle is stale (key was freed); register the key again";
    case Status::kKeyTableFull: return "key table is full; free unused keys or raise GPUTLS_MAX_KEYS";
    case Status::kBadKey: return "key material was rejected (malformed or unsupported key)";
    case Status::kCryptoFailure: return "the cryptographic operation failed (invalid input for this key)";
    case Status::kDeviceError: return "GPU reported an error; the request could not be completed";
    case Status::kShutdown: return "engine is shut down; create a new engine";
    case Status::kWrongProcess: return "engine belongs to the parent process (fork); use Engine::for_this_process()";
    case Status::kBadIvLength:
      return "AES-GCM needs a 96-bit (12-byte) IV; other IV lengths are not served: run such records on OpenSSL";
  }
  return "unknown status";
}

}  // namespace gputls::engine
