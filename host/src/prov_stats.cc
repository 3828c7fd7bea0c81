#include "prov_stats.h"

#include <nlohmann/json.hpp>

namespace gputls::host {

const char* prov_op_name(ProvOp op) {
  switch (op) {
    case ProvOp::kRsaSign: return "rsa_sign";
    case ProvOp::kRsaDecrypt: return "rsa_decrypt";
    case ProvOp::kRsaVerify: return "rsa_verify";
    case ProvOp::kRsaEncrypt: return "rsa_encrypt";
    case ProvOp::kRsaVerifyRecover: return "rsa_verify_recover";
    case ProvOp::kRsaKeygen: return "rsa_keygen";
    case ProvOp::kX25519Keygen: return "x25519_keygen";
    case ProvOp::kX25519Derive: return "x25519_derive";
    case ProvOp::kDhKeygen: return "dh_keygen";
    case ProvOp::kDhDerive: return "dh_derive";
    case ProvOp::kEcKeygen: return "ec_keygen";
    case ProvOp::kEcdhDerive: return "ecdh_derive";
    case ProvOp::kEcdsaSign: return "ecdsa_sign";
    case ProvOp::kEcdsaVerify: return "ecdsa_verify";
    case ProvOp::kAesGcmSeal: return "aes_gcm_seal";
    case ProvOp::kAesGcmOpen: return "aes_gcm_open";
    case ProvOp::kX448Keygen: return "x448_keygen";
    case ProvOp::kX448Derive: return "x448_derive";
    case ProvOp::kMlkemKeygen: return "mlkem768_keygen";
    case ProvOp::kMlkemEncaps: return "mlkem768_encaps";
    case ProvOp::kMlkemDecaps: return "mlkem768_decaps";
    case ProvOp::kCount: break;
  }
  return "unknown";
}

std::string ProvStats::json() const {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < ops.size(); ++i) {
    const ProvOpStats& s = ops[i];
    j[prov_op_name(static_cast<ProvOp>(i))] = {
        {"engine", s.engine.load()},     {"sw", s.sw.load()},     {"failed", s.failed.load()},
        {"async_paused", s.async_paused.load()}, {"busy", s.busy.load()}, {"key_refused", s.key_refused.load()},
        {"no_wait_fd", s.no_wait_fd.load()},    {"busy_waited", s.busy_waited.load()},
        {"busy_past_bound", s.busy_past_bound.load()}};
  }
  return j.dump();
}

}  // namespace gputls::host
