#include "tls_client.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gputls::bench {

std::string ssl_error(const char* who) {
  char buf[256] = "no OpenSSL error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(who) + ": " + buf;
}

std::string RunConfig::tls12_ciphers() const {
  if (!cipher.empty()) return cipher;
  return cert.rfind("ecdsa", 0) == 0 ? "ECDHE-ECDSA-AES128-GCM-SHA256" : "ECDHE-RSA-AES128-GCM-SHA256";
}

SSL_CTX* make_client_ctx(const RunConfig& cfg, OSSL_LIB_CTX* lib, const char* propq, std::string* error) {
  SSL_CTX* c = SSL_CTX_new_ex(lib, propq, TLS_client_method());
  if (!c) {
    *error = ssl_error("client SSL_CTX");
    return nullptr;
  }
  const int version = cfg.tls == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(c, version);
  SSL_CTX_set_max_proto_version(c, version);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE);
  // A server that closes after its response (HTTP) ends the exchange there.
  SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Sessions are kept by SessionReuse, never by the context's cache.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (!cfg.resumption()) SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set1_groups_list(c, cfg.group.c_str()) != 1) {
    *error = "group \"" + cfg.group + "\" is not available (" + ssl_error("groups") +
             "); use x25519, P-256, P-384, ffdhe2048, ffdhe3072, or with gputls X25519MLKEM768, SecP256r1MLKEM768, MLKEM768";
    SSL_CTX_free(c);
    return nullptr;
  }
  if (cfg.tls == 12 && SSL_CTX_set_cipher_list(c, cfg.tls12_ciphers().c_str()) != 1) {
    *error = "TLS 1.2 cipher list \"" + cfg.tls12_ciphers() + "\" matches nothing";
    SSL_CTX_free(c);
    return nullptr;
  }
  if (cfg.tls == 13 && !cfg.cipher.empty() && SSL_CTX_set_ciphersuites(c, cfg.cipher.c_str()) != 1) {
    *error = "TLS 1.3 cipher suites \"" + cfg.cipher + "\" match nothing (e.g. TLS_AES_128_GCM_SHA256)";
    SSL_CTX_free(c);
    return nullptr;
  }
  return c;
}

std::string check_peer_verified(SSL* client) {
  if (!SSL_get0_peer_certificate(client)) return "the server sent no certificate";
  const long v = SSL_get_verify_result(client);
  if (v != X509_V_OK)
    return std::string("the server's certificate did not verify against the CA: ") +
           X509_verify_cert_error_string(v);
  return "";
}

void SessionReuse::prepare(SSL* client) {
  const uint64_t k = started_++;
  // The k-th handshake resumes when floor((k+1) r) > floor(k r): exactly a
  // share r of them, spread evenly.
  const bool turn = std::floor(static_cast<double>(k + 1) * ratio_) > std::floor(static_cast<double>(k) * ratio_);
  if (turn && last_) SSL_set_session(client, last_);
}

void SessionReuse::completed(SSL* client) {
  if (ratio_ <= 0) return;
  SSL_SESSION* s = SSL_get1_session(client);
  if (s && SSL_SESSION_is_resumable(s)) {
    SSL_SESSION_free(last_);
    last_ = s;
  } else {
    SSL_SESSION_free(s);
  }
}

ClientExchange::ClientExchange(const RunConfig& cfg, const std::string& host) : http_(cfg.app == "http") {
  const size_t n = static_cast<size_t>(std::max(cfg.app_bytes, 1));
  if (!http_) {
    request_.assign(n - 1, 'q');
    request_ += '\n';
    return;
  }
  request_ = "GET " + cfg.http_path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n";
  const std::string pad = "X-Pad: ";
  if (request_.size() + pad.size() + 4 < n) request_ += pad + std::string(n - request_.size() - pad.size() - 4, 'q') + "\r\n";
  request_ += "\r\n";
}

void ClientExchange::reset() {
  sent_ = received_ = 0;
  body_left_ = -1;
  headers_done_ = false;
  header_.clear();
}

ClientExchange::Step ClientExchange::step(SSL* ssl, std::string* error) {
  while (sent_ < request_.size()) {
    const int w = SSL_write(ssl, request_.data() + sent_, static_cast<int>(request_.size() - sent_));
    if (w > 0) {
      sent_ += static_cast<uint64_t>(w);
      continue;
    }
    const int e = SSL_get_error(ssl, w);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Step::kWant;
    *error = ssl_error("client write");
    return Step::kError;
  }
  return http_ ? read_http(ssl, error) : read_echo(ssl, error);
}

ClientExchange::Step ClientExchange::read_echo(SSL* ssl, std::string* error) {
  const uint64_t n = request_.size();
  while (received_ < n) {
    const int r = SSL_read(ssl, buf_, static_cast<int>(std::min<uint64_t>(sizeof buf_, n - received_)));
    if (r <= 0) {
      const int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Step::kWant;
      *error = e == SSL_ERROR_ZERO_RETURN ? "the server closed before echoing the data (is it an echo server? "
                                            "use --app http for HTTP servers)"
                                          : ssl_error("client read");
      return Step::kError;
    }
    if (std::memcmp(buf_, request_.data() + received_, static_cast<size_t>(r)) != 0) {
      *error = "the server's reply differs from the data sent (not an echo server? use --app http)";
      return Step::kError;
    }
    received_ += static_cast<uint64_t>(r);
  }
  return Step::kDone;
}

ClientExchange::Step ClientExchange::read_http(SSL* ssl, std::string* error) {
  for (;;) {
    if (headers_done_ && body_left_ == 0) return Step::kDone;
    const int r = SSL_read(ssl, buf_, sizeof buf_);
    if (r <= 0) {
      const int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Step::kWant;
      // Closed: the end of a response without Content-Length.
      if (e == SSL_ERROR_ZERO_RETURN && headers_done_ && body_left_ < 0) return Step::kDone;
      *error = e == SSL_ERROR_ZERO_RETURN ? "the server closed before a complete HTTP response"
                                          : ssl_error("client read");
      return Step::kError;
    }
    received_ += static_cast<uint64_t>(r);
    if (headers_done_) {
      if (body_left_ > 0) body_left_ -= std::min<long long>(body_left_, r);
      continue;
    }
    header_.append(buf_, static_cast<size_t>(r));
    const size_t end = header_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (header_.size() > 65536) {
        *error = "no end of HTTP headers in the first 64 KiB of the response";
        return Step::kError;
      }
      continue;
    }
    if (header_.rfind("HTTP/1.", 0) != 0 || header_.size() < 12 || header_[9] != '2') {
      *error = "the server did not answer with HTTP 2xx: \"" + header_.substr(0, header_.find("\r\n")) + "\"";
      return Step::kError;
    }
    headers_done_ = true;
    std::string lower = header_.substr(0, end);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      *error = "chunked HTTP responses are not supported: have the server send a fixed-size body";
      return Step::kError;
    }
    const size_t cl = lower.find("\r\ncontent-length:");
    const long long body_here = static_cast<long long>(header_.size() - end - 4);
    if (cl != std::string::npos) {
      body_left_ = std::max(0LL, std::atoll(lower.c_str() + cl + 17) - body_here);
    }
  }
}

}  // namespace gputls::bench
