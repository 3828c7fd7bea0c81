// The server's public-key operations per handshake (the part an offload can
// take away) and their CPU cost with OpenSSL's default provider, measured
// here at start-up: so a run's server CPU splits into public-key work and the
// rest (libssl's floor: hashing, record layer, state machine, allocation).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runner.h"

namespace gputls::bench {

struct PkOp {
  std::string name;     // e.g. rsa2048_sign, x25519_keygen, p256_ecdh_derive, mlkem768_encaps
  std::string counter;  // gputls's provider counter for it (rsa_sign, x25519_keygen, ...)
  double full = 0;      // per full handshake
  double resumed = 0;   // per resumed handshake
};

// What the server computes per handshake for this configuration (TLS
// version, key exchange, certificate, mTLS). Tests hold it against gputls's
// counters, so the model is checked where the counters exist.
std::vector<PkOp> server_pk_ops(const RunConfig& cfg);

// CPU microseconds per operation, each op run alone on this thread with
// OpenSSL's default provider (about 50 ms each), less the EVP set-up around
// it (context made and initialised, parameters set, a signature's size asked
// for), which libssl runs before every such call whatever the provider and an
// offload leaves on the host: *setup_us has it per op, for the record, and it
// stays in libssl's floor. ML-KEM-768, which OpenSSL 3.0 lacks, with the
// kernels' host code gputls runs on the CPU (pk_op_timed_with says which; no
// set-up). False and *error if an operation cannot be set up.
const char* pk_op_timed_with(const std::string& op);
bool calibrate_pk_ops(const std::vector<PkOp>& ops, std::map<std::string, double>* us_per_op,
                      std::map<std::string, double>* setup_us, std::string* error);

}  // namespace gputls::bench
