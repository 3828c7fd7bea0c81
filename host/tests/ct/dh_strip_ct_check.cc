// Constant-time check of the DH shared secret's leading-zero strip
// (ct_strip.h), ctgrind style: under valgrind memcheck the padded secret is
// marked undefined (secret) and memcheck reports any branch or memory index
// that depends on it. Only the returned length, which OpenSSL 3.0's DH
// derive without `pad` reveals as the output's length, is marked public
// before it is read. Secrets with 0 .. 4 leading zero bytes (and all-zero
// prefixes of several lengths) must come out as the plain strip gives them.
//
//   --leaky   negative control: the early-exit strip the provider had
//             before; valgrind must report it (the ctest expects failure).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ct_strip.h"
#include "memcheck_marks.h"

namespace {

using Bytes = std::vector<uint8_t>;
using namespace gputls::kernels::ct;

int g_failures = 0;
void fail(const std::string& what) {
  std::fprintf(stderr, "dh_strip_ct_check: FAIL: %s\n", what.c_str());
  ++g_failures;
}

size_t leaky_strip(uint8_t* buf, size_t len) {
  size_t zeros = 0;
  while (zeros < len && buf[zeros] == 0) ++zeros;
  std::memmove(buf, buf + zeros, len - zeros);
  std::memset(buf + len - zeros, 0, zeros);
  return len - zeros;
}

template <class Strip>
void check(size_t len, size_t zeros, Strip strip) {
  Bytes secret(len);
  for (size_t i = 0; i < len; ++i) secret[i] = static_cast<uint8_t>(i < zeros ? 0 : 1 + (i * 37) % 255);
  const Bytes want(secret.begin() + static_cast<long>(zeros), secret.end());
  const unsigned long errors_before = errors_so_far();
  mark_secret(secret.data(), secret.size());
  if (undefined_bytes(secret.data(), secret.size()) == 0) fail("marking had no effect");
  size_t n = strip(secret.data(), secret.size());
  mark_public(&n, 1);
  mark_public(secret.data(), secret.size());
  const std::string what = std::to_string(len) + " bytes, " + std::to_string(zeros) + " leading zeros";
  if (errors_so_far() != errors_before) fail(what + ": secret-dependent branch or index");
  if (n != want.size() || !std::equal(want.begin(), want.end(), secret.begin())) fail(what + ": wrong output");
  for (size_t i = n; i < len; ++i)
    if (secret[i] != 0) fail(what + ": tail not cleared");
}

}  // namespace

int main(int argc, char** argv) {
  const bool leaky = argc > 1 && std::strcmp(argv[1], "--leaky") == 0;
  if (leaky) {
    check(256, 1, leaky_strip);
    return 0;  // valgrind's report is the failure this run exists for
  }
  for (size_t len : {1u, 7u, 256u, 384u, 1024u})
    for (size_t zeros : {0u, 1u, 2u, 3u, 4u, 17u})
      if (zeros < len) check(len, zeros, gputls::host::ct_strip_leading_zeros);
  std::printf("dh_strip_ct_check: %s\n", g_failures ? "FAILED" : "ok");
  return g_failures == 0 ? 0 : 1;
}
