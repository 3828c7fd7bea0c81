#include "aes_gcm_staging.h"

#include <cstring>

namespace gputls::engine {
namespace {

size_t pad16(size_t n) { return (n + 15) & ~size_t{15}; }

}  // namespace

void AesGcmStaging::plan(const Batch& b) {
  const size_t n = b.size();
  in_off_.resize(n);
  out_off_.resize(n);
  records_len_ = pad16(n * sizeof(kernels::AesGcmRecord) + (n + 1) * sizeof(uint32_t));
  size_t in = records_len_, out = 0;
  for (size_t i = 0; i < n; ++i) {
    const Request& r = *b.requests[i];
    in_off_[i] = in;
    in += pad16(r.in_len) + pad16(r.aead->aad_len) + 16;
    out_off_[i] = out;
    out += pad16(r.in_len);
  }
  in_len_ = in;
  tags_off_ = out;
  status_off_ = tags_off_ + 16 * n;
  acc_off_ = pad16(status_off_ + sizeof(uint32_t) * n);
  out_total_ = acc_off_ + 16 * n;
}

kernels::AesGcmBatch AesGcmStaging::fill(const Batch& b, const std::vector<uint32_t>& slots, uint8_t* h_in,
                                         uint8_t* d_in, uint8_t* d_out, const kernels::AesGcmKey* d_keys) const {
  const uint32_t n = static_cast<uint32_t>(b.size());
  auto* recs = reinterpret_cast<kernels::AesGcmRecord*>(h_in);
  auto* start = reinterpret_cast<uint32_t*>(h_in + n * sizeof(kernels::AesGcmRecord));
  const bool seal = b.op == Op::kAesGcmSeal;
  for (uint32_t i = 0; i < n; ++i) {
    const Request& r = *b.requests[i];
    const AeadParams& a = *r.aead;
    const size_t in = in_off_[i], aad = in + pad16(r.in_len), tag = aad + pad16(a.aad_len);
    if (r.in_len) std::memcpy(h_in + in, r.in, r.in_len);
    if (a.aad_len) std::memcpy(h_in + aad, a.aad, a.aad_len);
    if (!seal) std::memcpy(h_in + tag, a.tag, 16);
    kernels::AesGcmRecord rec;
    rec.in = d_in + in;
    rec.out = d_out + out_off_[i];
    rec.aad = d_in + aad;
    rec.tag = seal ? d_out + tags_off_ + 16 * size_t{i} : d_in + tag;
    rec.len = static_cast<uint32_t>(r.in_len);
    rec.aad_len = static_cast<uint32_t>(a.aad_len);
    rec.key_slot = slots[i];
    rec.op = seal ? kernels::kAesGcmSeal : kernels::kAesGcmOpen;
    std::memcpy(rec.nonce, a.nonce, kernels::kGcmNonceBytes);
    std::memcpy(&recs[i], &rec, sizeof rec);
  }
  kernels::AesGcmBatch kb;
  kb.items = kernels::aes_gcm_plan(recs, n, start);
  kb.records = reinterpret_cast<const kernels::AesGcmRecord*>(d_in);
  kb.chunk_start = reinterpret_cast<const uint32_t*>(d_in + n * sizeof(kernels::AesGcmRecord));
  kb.keys = d_keys;
  kb.acc = reinterpret_cast<uint32_t*>(d_out + acc_off_);
  kb.status = reinterpret_cast<uint32_t*>(d_out + status_off_);
  kb.count = n;
  return kb;
}

void AesGcmStaging::collect(Batch& b, const uint8_t* h_out) const {
  const bool seal = b.op == Op::kAesGcmSeal;
  for (size_t i = 0; i < b.size(); ++i) {
    Request& r = *b.requests[i];
    uint32_t st;
    std::memcpy(&st, h_out + status_off_ + 4 * i, 4);
    if (st == kernels::kAesGcmOk) {
      if (r.in_len) std::memcpy(r.out, h_out + out_off_[i], r.in_len);
      if (seal) std::memcpy(r.aead->tag, h_out + tags_off_ + 16 * i, 16);
    }
    // A failed open releases nothing (the kernel zeroed its output too).
    b.results[i] = st == kernels::kAesGcmOk           ? Status::kOk
                   : st == kernels::kAesGcmAuthFailed ? Status::kCryptoFailure
                                                      : Status::kDeviceError;
  }
}

}  // namespace gputls::engine
