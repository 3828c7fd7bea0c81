// The host side of an ECDSA sign request on the GPU path: the nonce, drawn
// here (never on the device), and the digest as the fixed-width integer the
// kernel takes. Kept apart from the CUDA backend so GPU-less tests run the
// GPU path's own staging with the kernel's host twin (ec_batch_host).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputls::engine {

// Where nonces get their fresh randomness: RAND_priv_bytes (OpenSSL's
// private DRBG) unless a test put another function here. Same contract as
// RAND_priv_bytes: 1 on success.
using NonceRandFn = int (*)(unsigned char* buf, int num);

// Tests only: replaces the randomness source (nullptr: RAND_priv_bytes
// again) and returns the previous one (nullptr when it was RAND_priv_bytes).
NonceRandFn set_ecdsa_nonce_rand_for_testing(NonceRandFn f);

// A nonce k for ECDSA on curve `curve` (kernels::ec::EcCurveId), in
// [1, n-1], written as coord_bytes big-endian bytes, hedged as OpenSSL 3.0's
// BN_generate_dsa_nonce hedges it: k comes from SHA-512 over a domain label,
// the curve, an attempt counter, the private key d (priv: big-endian, any
// width up to leading zeros), the digest as the caller gave it, and 32 fresh
// bytes from the randomness source. A repeated DRBG state (a cloned VM, a
// forked process) then still gives a different k for a different message or
// key; with a good DRBG k stays uniform. Candidates >= n or zero are
// rejected (comparison in constant time; only the public accept/reject
// outcome branches). False (k wiped) when no randomness is available.
bool draw_ecdsa_nonce(uint8_t* k, uint32_t curve, const uint8_t* priv, size_t priv_len, const uint8_t* digest,
                      size_t digest_len);

// A digest as the integer FIPS 186-4 takes, in B bytes: its leftmost B
// bytes, or left-padded with zeros to B bytes.
void put_ecdsa_digest(uint8_t* dg, const uint8_t* in, size_t len, size_t B);

}  // namespace gputls::engine
