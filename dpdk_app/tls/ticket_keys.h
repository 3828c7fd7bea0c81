// Session ticket keys from a file shared by several appliances: one or more
// 80-byte keys (16-byte name, 32-byte HMAC-SHA256 secret, 32-byte AES-256
// key), e.g. `(umask 077; openssl rand 80 > ticket.key)`. The first key
// encrypts new tickets, every key decrypts (tickets under an older key are
// renewed). The file must be a regular file owned by this user (or root) and
// readable by no one else, and no key may be all zeros. It is re-read when it
// changes (its inode, size, mtime or ctime; checked at most once a second),
// so rotation is replacing it with a new key first, best by writing a new
// file and renaming it over the old one; a file that changes while being
// read, or is malformed, leaves the old keys in use. Keys are wiped when
// replaced or freed.
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

  // What identifies one version of the file: a rename-based replacement
  // changes the inode, an in-place rewrite the ctime.
  struct Version {
    unsigned long long dev = 0, ino = 0;
    long long size = -1, mtime_ns = -1, ctime_ns = -1;
    bool operator==(const Version&) const = default;
  };
  static bool version_of(int fd, Version* v);

  std::string path_;
  std::mutex mu_;
  std::vector<Key> keys_;
  Version version_;
  std::chrono::steady_clock::time_point next_check_{};
};

}  // namespace gputls::tls
