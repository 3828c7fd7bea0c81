#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gputls::tls {

TicketKeys::~TicketKeys() { wipe(keys_); }

void TicketKeys::wipe(std::vector<Key>& keys) {
  if (!keys.empty()) OPENSSL_cleanse(keys.data(), keys.size() * sizeof(Key));
  keys.clear();
}

bool TicketKeys::version_of(int fd, Version* v) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  v->dev = st.st_dev;
  v->ino = st.st_ino;
  v->size = st.st_size;
  v->mtime_ns = (long long)st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  v->ctime_ns = (long long)st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
  return true;
}

namespace {

bool all_zero(const uint8_t* p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

}  // namespace

// The file as it is now, checked (owner, mode, size, every key), read through
// one descriptor and unchanged while it was read; nothing is kept otherwise.
bool TicketKeys::read_file(std::vector<Key>* out, std::string* err) {
  const std::string what = "ticket key file " + path_ + ": ";
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = what + std::strerror(errno);
    return false;
  }
  struct stat st {};
  Version before, after;
  bool ok = fstat(fd, &st) == 0 && version_of(fd, &before);
  if (!ok) {
    *err = what + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    *err = what + "not a regular file";
    ok = false;
  } else if (st.st_uid != geteuid() && st.st_uid != 0) {
    *err = what + "owned by uid " + std::to_string(st.st_uid) + ", not by this user (" +
           std::to_string(geteuid()) + ") or root";
    ok = false;
  } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    *err = what + "mode " + mode + " lets others read or change the keys; chmod 600 it";
    ok = false;
  } else if (st.st_size <= 0 || st.st_size % 80 != 0 || st.st_size > 80 * 64) {
    *err = what + std::to_string(st.st_size) +
           " bytes; want 1 to 64 keys of 80 bytes (make one with: (umask 077; openssl rand 80 > FILE))";
    ok = false;
  }
  std::vector<uint8_t> raw(ok ? size_t(st.st_size) : 0);
  if (ok) {
    size_t got = 0;
    while (got < raw.size()) {
      const ssize_t n = read(fd, raw.data() + got, raw.size() - got);
      if (n <= 0) break;
      got += size_t(n);
    }
    ok = got == raw.size() && version_of(fd, &after) && after == before;
    if (!ok) *err = what + "changed while being read (replace it by renaming a new file over it)";
  }
  close(fd);
  for (size_t i = 0; ok && i < raw.size() / 80; ++i) {
    const uint8_t* k = raw.data() + 80 * i;
    if (all_zero(k + 16, 32) || all_zero(k + 48, 32)) {
      *err = what + "key " + std::to_string(i + 1) + " has an all-zero HMAC or AES secret";
      ok = false;
    }
  }
  if (ok) {
    out->resize(raw.size() / 80);
    for (size_t i = 0; i < out->size(); ++i) {
      const uint8_t* k = raw.data() + 80 * i;
      std::memcpy((*out)[i].name.data(), k, 16);
      std::memcpy((*out)[i].hmac.data(), k + 16, 32);
      std::memcpy((*out)[i].aes.data(), k + 48, 32);
    }
    version_ = before;
  }
  if (!raw.empty()) OPENSSL_cleanse(raw.data(), raw.size());
  return ok;
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

// Called with mu_ held. A file that became unreadable, malformed or unsafe
// keeps the old keys (logged once per change) rather than breaking
// resumption.
void TicketKeys::maybe_reload() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return;
  next_check_ = now + std::chrono::seconds(1);
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  Version v;
  const bool known = version_of(fd, &v);
  close(fd);
  if (!known || v == version_) return;
  std::vector<Key> keys;
  std::string err;
  if (!read_file(&keys, &err)) {
    std::fprintf(stderr, "gputls-appliance: keeping the old ticket keys: %s\n", err.c_str());
    version_ = v;  // said once for this version of the file
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
