#include "gputls/engine/op.h"

namespace gputls::engine {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kEcho: return "echo";
    case Op::kRsaPriv: return "rsa_priv";
    case Op::kX25519Derive: return "x25519_derive";
    case Op::kModExp: return "modexp";
    case Op::kX25519Keygen: return "x25519_keygen";
    case Op::kEcKeygen: return "ec_keygen";
    case Op::kEcdhDerive: return "ecdh_derive";
    case Op::kEcdsaSign: return "ecdsa_sign";
    case Op::kEcdsaVerify: return "ecdsa_verify";
    case Op::kAesGcmSeal: return "aes_gcm_seal";
    case Op::kAesGcmOpen: return "aes_gcm_open";
    case Op::kMlkemKeygen: return "mlkem768_keygen";
    case Op::kMlkemEncaps: return "mlkem768_encaps";
    case Op::kMlkemDecaps: return "mlkem768_decaps";
    case Op::kCount: break;
  }
  return "unknown";
}

KeyType op_key_type(Op op) {
  switch (op) {
    case Op::kRsaPriv: return KeyType::kRsa;
    case Op::kX25519Derive:
    case Op::kX25519Keygen: return KeyType::kX25519;
    case Op::kModExp: return KeyType::kDh;
    case Op::kEcKeygen:
    case Op::kEcdhDerive:
    case Op::kEcdsaSign:
    case Op::kEcdsaVerify: return KeyType::kEc;
    case Op::kAesGcmSeal:
    case Op::kAesGcmOpen: return KeyType::kAes;
    default: return KeyType::kNone;
  }
}

std::string_view backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kNone: return "none";
    case BackendKind::kCpu: return "cpu";
    case BackendKind::kCuda: return "gpu";
    case BackendKind::kNull: return "null";
    case BackendKind::kCount: break;
  }
  return "unknown";
}

}  // namespace gputls::engine
