#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gputls::tls {

TicketKeys::~TicketKeys() { wipe(keys_); }

void TicketKeys::wipe(std::vector<Key>& keys) {
  if (!keys.empty()) OPENSSL_cleanse(keys.data(), keys.size() * sizeof(Key));
  keys.clear();
}

bool TicketKeys::read_file(std::vector<Key>* out, std::string* err) {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    *err = "ticket key file " + path_ + ": " + std::strerror(errno);
    return false;
  }
  if (st.st_size <= 0 || st.st_size % 80 != 0 || st.st_size > 80 * 64) {
    *err = "ticket key file " + path_ + ": " + std::to_string(st.st_size) +
           " bytes; want 1 to 64 keys of 80 bytes (make one with: openssl rand 80 > FILE)";
    return false;
  }
  FILE* f = std::fopen(path_.c_str(), "rb");
  if (!f) {
    *err = "ticket key file " + path_ + ": " + std::strerror(errno);
    return false;
  }
  std::vector<uint8_t> raw(size_t(st.st_size));
  bool ok = std::fread(raw.data(), 1, raw.size(), f) == raw.size();
  std::fclose(f);
  if (!ok) {
    OPENSSL_cleanse(raw.data(), raw.size());
    *err = "ticket key file " + path_ + ": short read (file changed while reading?)";
    return false;
  }
  out->resize(raw.size() / 80);
  for (size_t i = 0; i < out->size(); ++i) {
    const uint8_t* k = raw.data() + 80 * i;
    std::memcpy((*out)[i].name.data(), k, 16);
    std::memcpy((*out)[i].hmac.data(), k + 16, 32);
    std::memcpy((*out)[i].aes.data(), k + 48, 32);
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  size_ = st.st_size;
  mtime_ns_ = (long long)st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  return true;
}

bool TicketKeys::load(const std::string& path, std::string* err) {
  std::lock_guard<std::mutex> g(mu_);
  path_ = path;
  std::vector<Key> keys;
  if (!read_file(&keys, err)) return false;
  wipe(keys_);
  keys_ = std::move(keys);
  next_check_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  return true;
}

// Called with mu_ held. A file that became unreadable or malformed keeps the
// old keys (logged once per change) rather than breaking resumption.
void TicketKeys::maybe_reload() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return;
  next_check_ = now + std::chrono::seconds(1);
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return;
  long long mt = (long long)st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  if (st.st_size == size_ && mt == mtime_ns_) return;
  std::vector<Key> keys;
  std::string err;
  if (!read_file(&keys, &err)) {
    std::fprintf(stderr, "gputls-appliance: keeping the old ticket keys: %s\n", err.c_str());
    size_ = st.st_size;
    mtime_ns_ = mt;
    return;
  }
  wipe(keys_);
  keys_ = std::move(keys);
  std::fprintf(stderr, "gputls-appliance: ticket keys re-read from %s (%zu keys)\n", path_.c_str(), keys_.size());
}

size_t TicketKeys::count() {
  std::lock_guard<std::mutex> g(mu_);
  return keys_.size();
}

int TicketKeys::callback(uint8_t name[16], uint8_t iv[16], EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc) {
  std::lock_guard<std::mutex> g(mu_);
  maybe_reload();
  if (keys_.empty()) return -1;
  size_t idx = 0;
  if (enc) {
    std::memcpy(name, keys_[0].name.data(), 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
  } else {
    // Key names are public (they travel in the ticket): a plain search is fine.
    for (idx = 0; idx < keys_.size(); ++idx)
      if (std::memcmp(name, keys_[idx].name.data(), 16) == 0) break;
    if (idx == keys_.size()) return 0;
  }
  const Key& k = keys_[idx];
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(k.hmac.data()), k.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0), OSSL_PARAM_END};
  if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
  if (EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv, enc) != 1) return -1;
  return (enc || idx == 0) ? 1 : 2;
}

}  // namespace gputls::tls
