// The host side of an ECDSA sign request on the GPU path: the nonce, drawn
// here (never on the device), and the digest as the fixed-width integer the
// kernel takes. Kept apart from the CUDA backend so GPU-less tests run the
// GPU path's own staging with the kernel's host twin (ec_batch_host).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputls::engine {

// A nonce k for ECDSA on curve `curve` (kernels::ec::EcCurveId), uniform in
// [1, n-1], written as coord_bytes big-endian bytes: RAND_priv_bytes
// (OpenSSL's CSPRNG, private DRBG) by rejection sampling, compared in
// constant time. False (k wiped) when no randomness is available.
bool draw_ecdsa_nonce(uint8_t* k, uint32_t curve);

// A digest as the integer FIPS 186-4 takes, in B bytes: its leftmost B
// bytes, or left-padded with zeros to B bytes.
void put_ecdsa_digest(uint8_t* dg, const uint8_t* in, size_t len, size_t B);

}  // namespace gputls::engine
