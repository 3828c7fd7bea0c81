#include "tls/tls_context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "tls/ticket_keys.h"

namespace gputls::tls {

struct TlsContext::Impl {
  TicketKeys tickets;
  bool use_ticket_file = false;
  std::mutex keylog_mu;
  int keylog_fd = -1;
  ~Impl() {
    if (keylog_fd >= 0) close(keylog_fd);
  }
};

namespace {

int g_ctx_index = -1;  // SSL_CTX ex_data slot holding the TlsContext::Impl

std::string ossl_errors() {
  std::string s;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!s.empty()) s += "; ";
    s += buf;
  }
  return s.empty() ? "no OpenSSL detail" : s;
}

TlsContext::Impl* impl_of(const SSL* ssl) {
  return static_cast<TlsContext::Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_ctx_index));
}

int ticket_cb(SSL* ssl, unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
              int enc) {
  return impl_of(ssl)->tickets.callback(name, iv, cctx, hctx, enc);
}

void keylog_cb(const SSL* ssl, const char* line) {
  TlsContext::Impl* im = impl_of(ssl);
  std::string l = std::string(line) + "\n";
  std::lock_guard<std::mutex> g(im->keylog_mu);
  // One write per line on an O_APPEND fd: whole lines, visible at once.
  ssize_t n = write(im->keylog_fd, l.data(), l.size());
  (void)n;
}

}  // namespace

int parse_tls_version(const std::string& v) {
  if (v == "1.2") return TLS1_2_VERSION;
  if (v == "1.3") return TLS1_3_VERSION;
  return 0;
}

std::unique_ptr<TlsContext> TlsContext::create(const TlsSettings& s, std::string* err) {
  std::unique_ptr<TlsContext> t(new TlsContext);
  t->impl_ = std::make_unique<Impl>();
  auto fail = [&](const std::string& m) {
    *err = m;
    return nullptr;
  };
  if (s.certs.empty()) return fail("TLS needs at least one --cert/--key pair");
  int minv = parse_tls_version(s.min_version), maxv = parse_tls_version(s.max_version);
  if (!minv || !maxv) return fail("TLS versions are 1.2 or 1.3 (got min " + s.min_version + ", max " + s.max_version + ")");
  if (minv > maxv) return fail("--tls-min " + s.min_version + " is above --tls-max " + s.max_version);
  if (s.provider != "gputls" && s.provider != "default")
    return fail("--provider is gputls or default (got " + s.provider + ")");

  ERR_clear_error();
  t->lib_ = OSSL_LIB_CTX_new();
  if (!t->lib_) return fail("OSSL_LIB_CTX_new failed: " + ossl_errors());
  if (s.provider == "gputls") {
    std::string dir, name = "gputls";
    if (!s.provider_module.empty()) {
      if (access(s.provider_module.c_str(), R_OK) != 0)
        return fail("--provider-module " + s.provider_module + ": " + std::strerror(errno));
      size_t slash = s.provider_module.rfind('/');
      dir = slash == std::string::npos ? "." : s.provider_module.substr(0, slash);
      name = s.provider_module.substr(slash == std::string::npos ? 0 : slash + 1);
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) name.resize(name.size() - 3);
      OSSL_PROVIDER_set_default_search_path(t->lib_, dir.c_str());
    }
    t->gputls_ = OSSL_PROVIDER_load(t->lib_, name.c_str());
    if (!t->gputls_)
      return fail("cannot load the gputls provider (" +
                  (s.provider_module.empty() ? std::string("OpenSSL's module directory; give --provider-module PATH")
                                             : s.provider_module) + "): " + ossl_errors());
  }
  t->default_ = OSSL_PROVIDER_load(t->lib_, "default");
  if (!t->default_) return fail("cannot load OpenSSL's default provider: " + ossl_errors());
  t->ctx_ = SSL_CTX_new_ex(t->lib_, s.provider == "gputls" ? "?provider=gputls" : nullptr, TLS_server_method());
  if (!t->ctx_) return fail("SSL_CTX_new_ex failed: " + ossl_errors());
  SSL_CTX* ctx = t->ctx_;
  if (g_ctx_index < 0) g_ctx_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  SSL_CTX_set_ex_data(ctx, g_ctx_index, t->impl_.get());
  SSL_CTX_set_min_proto_version(ctx, minv);
  SSL_CTX_set_max_proto_version(ctx, maxv);
  const std::string& ciphers = s.ciphers.empty() ? kDefaultTls12Ciphers : s.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1)
    return fail("--ciphers " + ciphers + ": no usable TLS 1.2 cipher: " + ossl_errors());
  // The server's order decides (TLS 1.2 and 1.3), as HAProxy's default does:
  // a scanner rates a client-chosen order as a weakness.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) != 1)
    return fail("--ciphersuites " + s.ciphersuites + ": no usable TLS 1.3 suite: " + ossl_errors());
  const std::string groups = s.groups.empty() && s.provider == "gputls" ? kDefaultGroupsGputls : s.groups;
  if (!groups.empty() && SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1)
    return fail("--groups " + groups + ": unknown group in the list (X25519MLKEM768 and MLKEM768 need --provider gputls): " +
                ossl_errors());
  for (const auto& ck : s.certs) {
    if (SSL_CTX_use_certificate_chain_file(ctx, ck.cert.c_str()) != 1)
      return fail("--cert " + ck.cert + ": not a readable PEM certificate chain: " + ossl_errors());
    if (SSL_CTX_use_PrivateKey_file(ctx, ck.key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail("--key " + ck.key + ": unreadable, or does not match --cert " + ck.cert + ": " + ossl_errors());
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail("--key " + ck.key + " does not match --cert " + ck.cert + ": " + ossl_errors());
  }
  if (!s.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.client_ca.c_str(), nullptr) != 1)
      return fail("--client-ca " + s.client_ca + ": not a readable PEM CA file: " + ossl_errors());
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file_ex(s.client_ca.c_str(), t->lib_, nullptr);
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  static const unsigned char kSidCtx[] = "gputls-appliance";
  SSL_CTX_set_session_id_context(ctx, kSidCtx, sizeof kSidCtx - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  if (!s.tickets) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  } else if (!s.ticket_key_file.empty()) {
    if (!t->impl_->tickets.load(s.ticket_key_file, err)) return nullptr;
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
  }
  if (!s.keylog_file.empty()) {
    // The key log decrypts every session: never through a symlink (a link
    // planted there would send the secrets elsewhere), and an existing file
    // others may read is refused rather than appended to.
    t->impl_->keylog_fd = open(s.keylog_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (t->impl_->keylog_fd < 0)
      return fail("--keylog-file " + s.keylog_file + ": " +
                  (errno == ELOOP ? std::string("is a symbolic link; give the file itself") : std::strerror(errno)));
    struct stat st {};
    if (fstat(t->impl_->keylog_fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))
      return fail("--keylog-file " + s.keylog_file + ": not a regular file or FIFO");
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
      return fail("--keylog-file " + s.keylog_file + ": mode " + mode +
                  " lets others read the session secrets; chmod 600 it or give a new file");
    }
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ASYNC | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  return t;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
  if (gputls_) OSSL_PROVIDER_unload(gputls_);
  if (default_) OSSL_PROVIDER_unload(default_);
  OSSL_LIB_CTX_free(lib_);
}

std::string TlsContext::provider_stats_json() const {
  if (!gputls_) return "";
  std::string buf(1 << 16, '\0');
  OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("gputls-stats", buf.data(), buf.size()), OSSL_PARAM_END};
  if (OSSL_PROVIDER_get_params(gputls_, p) != 1) return "";
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

}  // namespace gputls::tls
