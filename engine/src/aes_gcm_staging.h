// The layout of one AES-GCM batch in the CUDA backend's staging buffers, as
// plain host code (no CUDA call), so GPU-less tests run it with the kernels'
// host twin standing in for the device.
//
//   in  = [records n x AesGcmRecord | chunk_start (n + 1) x u32 | per record:
//          input, AAD, expected tag (open), each padded to 16 bytes]
//   out = [per record: output padded to 16 | tags n x 16 (seal) | status n x u32 |
//          accumulators n x 16 (scratch, not copied back)]
//
// Records hold addresses in the device copies (d_in, d_out), computed while
// the host copy is filled. Inputs may be secret (plaintexts): the caller wipes
// both copies after use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gputls/engine/backend.h"
#include "gputls/kernels/aes_gcm.h"

namespace gputls::engine {

class AesGcmStaging {
 public:
  // Sizes the batch: bytes of the input copy and of the output region.
  void plan(const Batch& b);
  size_t in_len() const { return in_len_; }
  size_t out_len() const { return out_total_; }    // what the device uses
  size_t copy_back_len() const { return acc_off_; }  // what comes back to the host

  // Fills h_in (in_len() bytes); the returned batch points into d_in / d_out
  // and at the key table d_keys (slots[i] is request i's slot there).
  kernels::AesGcmBatch fill(const Batch& b, const std::vector<uint32_t>& slots, uint8_t* h_in, uint8_t* d_in,
                            uint8_t* d_out, const kernels::AesGcmKey* d_keys) const;

  // Results from the output copy h_out: outputs and tags into the requests
  // for records that succeeded; statuses mapped to engine results (a failed
  // tag is kCryptoFailure, anything unexpected kDeviceError: re-run on the CPU).
  void collect(Batch& b, const uint8_t* h_out) const;

 private:
  std::vector<size_t> in_off_, out_off_;  // per record: its input and output in the copies
  size_t records_len_ = 0, in_len_ = 0, tags_off_ = 0, status_off_ = 0, acc_off_ = 0, out_total_ = 0;
};

}  // namespace gputls::engine
