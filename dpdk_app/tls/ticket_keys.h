// Session ticket keys from a file shared by several appliances: one or more
// 80-byte keys (16-byte name, 32-byte HMAC-SHA256 secret, 32-byte AES-256
// key), e.g. `openssl rand 80 > ticket.key`. The first key encrypts new
// tickets, every key decrypts (tickets under an older key are renewed). The
// file is re-read when its size or mtime changes (checked at most once a
// second), so rotation is rewriting the file with a new key first. Keys are
// wiped when replaced or freed.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace gputls::tls {

class TicketKeys {
 public:
  struct Key {
    std::array<uint8_t, 16> name;
    std::array<uint8_t, 32> hmac, aes;
  };
  // Reads the file now; false with *err when it is missing or not a multiple
  // of 80 bytes.
  bool load(const std::string& path, std::string* err);
  ~TicketKeys();
  // The SSL_CTX_set_tlsext_ticket_key_evp_cb contract: 1 = ok, 2 = ok and
  // renew, 0 = unknown key name (full handshake), -1 = error.
  int callback(uint8_t name[16], uint8_t iv[16], EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc);
  size_t count();

 private:
  bool read_file(std::vector<Key>* out, std::string* err);
  void maybe_reload();
  void wipe(std::vector<Key>& keys);

  std::string path_;
  std::mutex mu_;
  std::vector<Key> keys_;
  long long size_ = -1, mtime_ns_ = -1;
  std::chrono::steady_clock::time_point next_check_{};
};

}  // namespace gputls::tls
