#include "engine_call.h"

#include <pthread.h>

#include <openssl/async.h>
#include <openssl/crypto.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <type_traits>
#include <vector>

namespace gputls::host {
namespace {

// An eventfd shared by one ASYNC_WAIT_CTX and the requests signalling it.
// The wait ctx and every request in flight hold a reference; the fd closes
// with the last one, so an SSL freed while its job is paused never leaves the
// engine writing into a closed (or reused) descriptor.
struct Call;
void release_call(Call* c);

std::atomic<long> g_wait_fds_live{0};

// Quiet eventfds kept for the next connection that pauses: making one and
// closing it per connection were two system calls (eventfd2, close) on the
// server's thread per handshake. At most kFdPoolMax are kept; they count
// against the descriptor bound like those in use. A forked child closes its
// copies (they share their counters with the parent's).
constexpr size_t kFdPoolMax = 64;

// Trivially destructible, with no destructor of its own: a WaitFd's last
// release can come after static destructors ran (the engine completing its
// last requests when OpenSSL's exit handler shuts it down), and must find
// the pool usable. The DSO's destructor below closes what it holds and
// closes any fd put back after that.
class FdPool {
 public:
  // A quiet eventfd, or -1 when none is kept.
  int take() {
    if (n_.load(std::memory_order_relaxed) == 0) return -1;
    std::lock_guard<std::mutex> lock(mu_);
    long n = n_.load(std::memory_order_relaxed);
    if (n == 0) return -1;
    n_.store(n - 1, std::memory_order_relaxed);
    return fds_[n - 1];
  }
  // Keeps a quiet fd; false (the caller closes it) when the pool is full or
  // gone.
  bool put(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    const long n = n_.load(std::memory_order_relaxed);
    if (closed_ || n >= static_cast<long>(kFdPoolMax)) return false;
    fds_[n] = fd;
    n_.store(n + 1, std::memory_order_relaxed);
    return true;
  }
  long size() const { return n_.load(std::memory_order_relaxed); }
  void lock() { mu_.lock(); }
  void unlock() { mu_.unlock(); }
  // Under lock(): closes every kept fd; with `for_good`, later puts are refused.
  void close_all_locked(bool for_good) {
    for (long i = 0; i < n_.load(std::memory_order_relaxed); ++i) close(fds_[i]);
    n_.store(0, std::memory_order_relaxed);
    closed_ = closed_ || for_good;
  }

 private:
  std::mutex mu_;
  int fds_[kFdPoolMax] = {};
  std::atomic<long> n_{0};
  bool closed_ = false;
};
static_assert(std::is_trivially_destructible_v<FdPool>, "released fds may arrive after static destruction");

constinit FdPool g_fd_pool;  // constant-initialized: usable from any constructor or thread

// A forked child closes its copies: they share their counters with the
// parent's descriptors. The pool is locked across fork so the child's copy
// is consistent.
[[gnu::constructor]] void fd_pool_register_atfork() {
  pthread_atfork([] { g_fd_pool.lock(); }, [] { g_fd_pool.unlock(); },
                 [] {
                   g_fd_pool.close_all_locked(false);
                   g_fd_pool.unlock();
                 });
}

// gputls.so unloaded (or the process exiting): the kept fds are closed.
[[gnu::destructor]] void fd_pool_close() {
  g_fd_pool.lock();
  g_fd_pool.close_all_locked(true);
  g_fd_pool.unlock();
}

struct WaitFd {
  int fd;
  std::atomic<int> refs{1};
  // The wait ctx was freed while its job was paused: the fd may be left
  // readable (by the engine, or by wait_for_room) and is drained before reuse.
  bool abandoned = false;
  // The request the paused job waits for, holding the job's reference to it.
  // Set and cleared on the application's thread only (by the job around its
  // pause, and by the wait ctx's cleanup), never by the engine.
  Call* paused_call = nullptr;
  // What the paused job was building (AbandonGuard), freed if it never resumes.
  void (*abandon_free)(void*) = nullptr;
  void* abandon_obj = nullptr;
  bool paused = false;  // the job is paused on fd (set and cleared by the job)
  void release() {
    if (refs.fetch_sub(1) == 1) {
      // Every reference is gone, the engine's too: nothing writes fd any
      // more. A job that ran to its end left it quiet (it reads each
      // completion); an abandoned one may not have.
      uint64_t count;
      if (abandoned) (void)!read(fd, &count, sizeof count);
      if (!g_fd_pool.put(fd)) close(fd);
      g_wait_fds_live.fetch_sub(1, std::memory_order_relaxed);
      delete this;
    }
  }
};

// Set as the wait ctx's cleanup: the wait ctx drops its reference. When the
// SSL is freed while its job is paused, the job never resumes to drop its
// reference to the request: it is dropped here instead, so the request is
// freed once the engine is done with it too.
void wait_fd_cleanup(ASYNC_WAIT_CTX*, const void*, OSSL_ASYNC_FD, void* custom) {
  auto* w = static_cast<WaitFd*>(custom);
  // A job paused on w (waiting for a request, or yielding while the engine
  // was busy) will never resume: free what it was building, drop its
  // reference to the request.
  Call* c = w->paused_call;
  w->paused_call = nullptr;
  if (w->paused) w->abandoned = true;
  if (w->abandon_free) w->abandon_free(w->abandon_obj);
  w->abandon_free = nullptr;
  if (c) release_call(c);
  w->release();
}

const char kWaitKey = 0;  // its address names gputls's fd in a wait ctx

// Yields a resumed job makes for the engine to publish a completion whose fd
// write it has seen, before it gives the readiness back and pauses again.
constexpr int kResumeSpins = 1000;

// The provider holds one eventfd per connection that has paused: at most
// half the process's descriptor limit, so the application keeps the rest
// for its sockets. Past that (or when eventfd fails) the connection's
// operations run in software on the caller's thread, counted as no_wait_fd,
// rather than blocking the caller's event loop on the engine.
long read_wait_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1L << 20;
  return static_cast<long>(rl.rlim_cur / 2);
}

// The bound as last read: getrlimit is a system call, and a connection's
// first pause would make one each time. Read again when the cached bound
// says no (an application that raised its limit after loading gputls, as
// servers do at start, gets the new one when it matters) and every 256th
// descriptor (one that lowered it is followed within 256).
std::atomic<long> g_wait_fd_limit{0};
std::atomic<uint32_t> g_wait_fds_made{0};

bool wait_fd_allowed(long live) {
  long limit = g_wait_fd_limit.load(std::memory_order_relaxed);
  if (live < limit && (g_wait_fds_made.fetch_add(1, std::memory_order_relaxed) & 255) != 0) return true;
  limit = read_wait_fd_limit();
  g_wait_fd_limit.store(limit, std::memory_order_relaxed);
  return live < limit;
}

WaitFd* wait_fd_for(ASYNC_WAIT_CTX* wctx) {
  OSSL_ASYNC_FD fd;
  void* custom = nullptr;
  if (ASYNC_WAIT_CTX_get_fd(wctx, &kWaitKey, &fd, &custom) == 1 && custom) return static_cast<WaitFd*>(custom);
  // A slot is taken before the descriptor is made, so threads making theirs
  // at once cannot pass the bound together; kept descriptors count too.
  // A kept one is taken under the same bound on those in use.
  if (!wait_fd_allowed(g_wait_fds_live.fetch_add(1, std::memory_order_relaxed) + g_fd_pool.size())) {
    g_wait_fds_live.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  int efd = g_fd_pool.take();
  if (efd < 0) efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    g_wait_fds_live.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto* w = new WaitFd{efd};
  if (ASYNC_WAIT_CTX_set_wait_fd(wctx, &kWaitKey, efd, w, wait_fd_cleanup) != 1) {
    w->release();
    return nullptr;
  }
  return w;
}

// One request on the heap: the engine's completion and the waiting caller
// each hold a reference, so a job that is never resumed leaks nothing and
// its memory is never written after it is gone.
std::atomic<long> g_calls_alive{0};

struct Call {
  Call() { g_calls_alive.fetch_add(1, std::memory_order_relaxed); }
  ~Call() { g_calls_alive.fetch_sub(1, std::memory_order_relaxed); }
  engine::Request req;
  std::vector<uint8_t> in, out;
  // AES-GCM: copies of the caller's nonce, AAD and tag.
  engine::AeadParams aead;
  uint8_t nonce[12] = {}, tag[16] = {};
  std::vector<uint8_t> aad;
  WaitFd* wfd = nullptr;
  std::atomic<int> refs{2};
  void release() {
    if (refs.fetch_sub(1) == 1) {
      OPENSSL_cleanse(out.data(), out.size());  // results are secrets (premaster, shared values, plaintext)
      OPENSSL_cleanse(in.data(), in.size());    // so is a sealed record's plaintext
      delete this;
    }
  }
};

void release_call(Call* c) { c->release(); }

// After completion was published (the engine wrote the wait fd, as
// Request::notify_fd, before that): the engine's references go.
void on_complete(void* user, engine::Status) {
  auto* c = static_cast<Call*>(user);
  if (WaitFd* w = c->wfd) w->release();
  c->release();
}

AbandonGuard* guard_get();
void guard_set(AbandonGuard* g);

// Pauses the current ASYNC_JOB until the application resumes it (its event
// loop saw w readable). c: the request the job waits for, or none; the wait
// ctx's cleanup frees what the job was building if it never resumes.
void pause_job_on(WaitFd* w, Call* c) {
  w->paused_call = c;
  AbandonGuard* guard = guard_get();
  w->abandon_free = guard ? guard->free_fn : nullptr;
  w->abandon_obj = guard ? guard->obj : nullptr;
  guard_set(nullptr);  // the application's own code runs on this thread now
  w->paused = true;
  ASYNC_pause_job();   // libssl returns SSL_ERROR_WANT_ASYNC; we resume when the fd is readable
  w->paused = false;
  guard_set(guard);
  w->abandon_free = nullptr;
  w->paused_call = nullptr;
}

}  // namespace

namespace {
// The innermost guard of each thread, in POSIX thread-specific data rather
// than a C++ thread_local: gputls.so is dlopen()ed and dlclose()d by OpenSSL,
// and a thread_local in it is dynamic TLS, whose blocks LeakSanitizer (GCC 12)
// keeps scanning after the module is gone: the ASan build's leak check then
// crashed at exit now and then ("Tracer caught signal 11", "DTLS ... at
// 0x...65e"). The key is deleted when the module is unloaded.
pthread_key_t g_guard_key;
pthread_once_t g_guard_once = PTHREAD_ONCE_INIT;
bool g_guard_key_made = false;

void make_guard_key() { g_guard_key_made = pthread_key_create(&g_guard_key, nullptr) == 0; }

__attribute__((destructor)) void delete_guard_key() {
  if (g_guard_key_made) pthread_key_delete(g_guard_key);
}

AbandonGuard* guard_get() {
  pthread_once(&g_guard_once, make_guard_key);
  return g_guard_key_made ? static_cast<AbandonGuard*>(pthread_getspecific(g_guard_key)) : nullptr;
}

void guard_set(AbandonGuard* g) {
  pthread_once(&g_guard_once, make_guard_key);
  if (g_guard_key_made) pthread_setspecific(g_guard_key, g);
}
}  // namespace

AbandonGuard::AbandonGuard(void (*fn)(void*), void* o) : free_fn(fn), obj(o), prev_(guard_get()) { guard_set(this); }
AbandonGuard::~AbandonGuard() { guard_set(prev_); }
AbandonGuard* AbandonGuard::current() { return guard_get(); }
void AbandonGuard::set_current(AbandonGuard* g) { guard_set(g); }

long wait_fds_live() { return g_wait_fds_live.load(std::memory_order_relaxed); }
long wait_fds_kept() { return g_fd_pool.size(); }

namespace {
// Operations running in software on their caller's thread because the engine
// was busy, and the most there ever were at once.
std::atomic<uint32_t> g_busy_running{0};
std::atomic<long> g_busy_peak{0};

// Waiting for room in the engine's queue, at most this long per operation;
// then the operation runs in software past the bound (counted).
constexpr uint64_t kBusyWaitNs = 100'000'000;  // 100 ms
constexpr auto kBusySleep = std::chrono::microseconds(100);

uint32_t busy_bound(const engine::Config& cfg) {
  return cfg.busy_software_max ? cfg.busy_software_max : std::max(1u, std::thread::hardware_concurrency());
}

// A software run because the engine was busy, counted while it lasts.
class BusyRun {
 public:
  BusyRun() = default;
  // Takes a place (atomically) unless `bound` runs already hold one; bound 0:
  // always (a run past the bound). False when the bound was reached.
  bool enter(uint32_t bound) {
    const uint32_t now = g_busy_running.fetch_add(1) + 1;
    if (bound && now > bound) {
      g_busy_running.fetch_sub(1);
      return false;
    }
    held_ = true;
    long peak = g_busy_peak.load(std::memory_order_relaxed);
    while (static_cast<long>(now) > peak && !g_busy_peak.compare_exchange_weak(peak, now)) {
    }
    return true;
  }
  ~BusyRun() {
    if (held_) g_busy_running.fetch_sub(1);
  }
  BusyRun(const BusyRun&) = delete;
  BusyRun& operator=(const BusyRun&) = delete;

 private:
  bool held_ = false;
};

// Lets the caller's event loop run while the engine's queue is full: an
// ASYNC_JOB pauses with its wait fd already readable (the loop resumes it on
// its next turn, after serving the connections that are ready); a blocking
// caller sleeps a little. False when the job has no descriptor to pause on.
bool wait_for_room() {
  if (ASYNC_JOB* job = ASYNC_get_current_job()) {
    WaitFd* w = wait_fd_for(ASYNC_get_wait_ctx(job));
    if (!w) return false;
    const uint64_t one = 1;
    if (write(w->fd, &one, sizeof one) != sizeof one) return false;
    pause_job_on(w, nullptr);
    uint64_t count;
    (void)!read(w->fd, &count, sizeof count);  // quiet again for the connection's next request
    return true;
  }
  std::this_thread::sleep_for(kBusySleep);
  return true;
}
}  // namespace

long busy_software_peak() { return g_busy_peak.load(std::memory_order_relaxed); }

long engine_calls_alive() { return g_calls_alive.load(std::memory_order_relaxed); }

namespace {
// Whether the engine runs this request on the caller's thread (run_now)
// rather than queueing it.
bool runs_inline(const engine::Config& cfg, engine::Engine* eng, engine::Op op, size_t in_len) {
  return cfg.inline_without_gpu && eng->prefers_run_now(op, in_len) &&
         (!cfg.inline_records_only || (engine::is_aead(op) && in_len < cfg.aes_gpu_min_bytes));
}

// runs_inline() for AES-GCM records as a length bound: a record runs inline
// exactly when it is shorter than this. Spelled out from the terms above:
// prefers_run_now(op, len) is "always" (no GPU, or policy cpu) or, unless the
// engine's policy is null, len below the engine's aes_gpu_min_bytes; and
// inline_records_only adds len below the provider's aes_gpu_min_bytes.
size_t inline_record_limit(const engine::Config& cfg, const engine::Engine* eng) {
  if (!cfg.inline_without_gpu) return 0;
  const engine::Config& ec = eng->config();
  const size_t engine_bound = eng->prefers_run_now()                 ? SIZE_MAX
                              : ec.policy != engine::Policy::kNull ? size_t{ec.aes_gpu_min_bytes}
                                                                   : 0;
  return cfg.inline_records_only ? std::min(engine_bound, size_t{cfg.aes_gpu_min_bytes}) : engine_bound;
}
}  // namespace

bool queues(const ProvCtx* pc, engine::Engine* eng, engine::Op op, size_t in_len) {
  return !runs_inline(pc->config, eng, op, in_len);
}

CallResult call_engine(ProvCtx* pc, ProvOp which, engine::Engine* eng, engine::Op op, engine::KeyHandle key,
                       const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len,
                       const engine::AeadParams* aead) {
  ProvOpStats& st = pc->stats[which];
  if (runs_inline(pc->config, eng, op, in_len)) {
    // Nothing to batch for (no GPU, policy cpu, or an AES-GCM record below
    // the GPU's size threshold): the engine runs it right here, with no
    // queue and no thread handoff; pausing an ASYNC_JOB would only add a
    // round trip through the event loop.
    engine::Request req;
    req.op = op;
    req.key = key;
    req.in = in;
    req.in_len = in_len;
    req.out = out;
    req.out_len = out_len;
    req.aead = aead;
    switch (eng->run_now(req)) {
      case engine::Status::kOk: st.engine.fetch_add(1, std::memory_order_relaxed); return CallResult::kOk;
      case engine::Status::kCryptoFailure: return CallResult::kFailed;
      default: return CallResult::kRefused;
    }
  }
  ASYNC_JOB* job = ASYNC_get_current_job();  // a thread-local lookup: only the queued path needs it
  auto* c = new Call;
  c->in.assign(in, in + in_len);
  c->out.assign(out_len, 0);
  c->req.op = op;
  c->req.key = key;
  c->req.in = c->in.data();
  c->req.in_len = in_len;
  c->req.out = c->out.data();
  c->req.out_len = out_len;
  c->req.on_complete = on_complete;
  c->req.user = c;
  if (aead) {
    // Sizes the engine would refuse are passed on as they are (it answers
    // kBadIvLength / kInvalidArgument); only well-formed ones are copied.
    c->aead = *aead;
    if (aead->nonce && aead->nonce_len == sizeof c->nonce) {
      std::memcpy(c->nonce, aead->nonce, sizeof c->nonce);
      c->aead.nonce = c->nonce;
    }
    if (aead->tag && aead->tag_len == sizeof c->tag) {
      std::memcpy(c->tag, aead->tag, sizeof c->tag);
      c->aead.tag = c->tag;
    }
    if (aead->aad_len) {
      c->aad.assign(aead->aad, aead->aad + aead->aad_len);
      c->aead.aad = c->aad.data();
    }
    c->req.aead = &c->aead;
  }

  if (job) {
    c->wfd = wait_fd_for(ASYNC_get_wait_ctx(job));
    if (!c->wfd) {  // no descriptor to pause on: software, not a blocking wait
      delete c;
      st.no_wait_fd.fetch_add(1, std::memory_order_relaxed);
      return CallResult::kRefused;
    }
    c->wfd->refs.fetch_add(1);
    // Written by the engine before it publishes completion, so the drain
    // below (after done()) leaves the fd quiet for the connection's next
    // request: no resume loop spinning on a stale count.
    c->req.notify_fd = c->wfd->fd;
  }
  engine::Status s = eng->submit(c->req);
  if (s != engine::Status::kOk) {
    if (c->wfd) c->wfd->release();
    delete c;
    return s == engine::Status::kBusy ? CallResult::kBusy : CallResult::kRefused;
  }
  if (job && c->wfd) {
    bool paused = false, drained = false;
    uint64_t count;
    while (!c->req.done()) {
      paused = true;
      pause_job_on(c->wfd, c);
      // The engine writes the fd just before it publishes completion: a
      // written fd means done() is a few instructions away (its thread may
      // have been preempted in between). Wait for that here rather than
      // pausing again on an fd that stays readable: the event loop would
      // resume the job at once, over and over, until the engine thread runs.
      if (read(c->wfd->fd, &count, sizeof count) == sizeof count) {
        drained = true;
        for (int spin = 0; spin < kResumeSpins && !c->req.done(); ++spin) std::this_thread::yield();
        if (!c->req.done()) {
          // The engine thread did not get to run (a real-time caller on its
          // core?): put the readiness back and pause again, not spin forever.
          const uint64_t one = 1;
          drained = write(c->wfd->fd, &one, sizeof one) != sizeof one;
        }
      }
    }
    // Completed before a pause, or between a resume's read and its check:
    // reset readiness for the connection's next request.
    if (!drained) (void)!read(c->wfd->fd, &count, sizeof count);
    if (paused) st.async_paused.fetch_add(1, std::memory_order_relaxed);
  } else {
    eng->wait(c->req);
  }
  engine::Status result = c->req.status();
  CallResult r = CallResult::kFailed;
  if (result == engine::Status::kOk) {
    std::memcpy(out, c->out.data(), out_len);
    if (aead && op == engine::Op::kAesGcmSeal) std::memcpy(aead->tag, c->tag, sizeof c->tag);
    r = CallResult::kOk;
  } else if (result == engine::Status::kCryptoFailure) {
    std::memset(out, 0, out_len);
  } else {
    r = CallResult::kRefused;  // e.g. shut down mid-flight: software can still answer
  }
  c->release();
  if (r == CallResult::kOk) st.engine.fetch_add(1, std::memory_order_relaxed);
  return r;
}

EngineKeyRef::~EngineKeyRef() {
  // After fork the engine is the parent's: it answers kWrongProcess and the
  // child's copy of the key dies with the child.
  engine::Engine* eng = registered_with_.load(std::memory_order_acquire);
  if (eng && handle_.valid()) (void)eng->free_key(handle_);
}

uint64_t steady_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

namespace {

// Refusals that say nothing about the key itself: worth another try later.
bool may_pass(engine::Status s) {
  return s == engine::Status::kKeyTableFull || s == engine::Status::kBusy || s == engine::Status::kDeviceError;
}

}  // namespace

// Under mu_.
void EngineKeyRef::register_now(engine::Engine* eng,
                                FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg) {
  engine::KeyHandle h{};
  const engine::Status s = reg(eng, &h);
  const bool ok = s == engine::Status::kOk;
  handle_ = ok ? h : engine::KeyHandle{};
  retry_at_ns_.store(!ok && may_pass(s) ? steady_ns() + kRetryNs : UINT64_MAX, std::memory_order_relaxed);
  refused_.store(!ok, std::memory_order_release);
}

engine::KeyHandle EngineKeyRef::handle_for(engine::Engine* eng,
                                           FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg) {
  if (registered_with_.load(std::memory_order_acquire) != eng) {
    std::lock_guard<std::mutex> lock(mu_);
    if (registered_with_.load(std::memory_order_relaxed) != eng) {
      register_now(eng, reg);
      registered_with_.store(eng, std::memory_order_release);
    }
  }
  if (!refused_.load(std::memory_order_acquire)) return handle_;
  if (retry_at_ns_.load(std::memory_order_relaxed) == UINT64_MAX || steady_ns() < retry_at_ns_.load()) return {};
  std::lock_guard<std::mutex> lock(mu_);
  if (refused_.load(std::memory_order_relaxed) && steady_ns() >= retry_at_ns_.load(std::memory_order_relaxed))
    register_now(eng, reg);
  return refused_.load(std::memory_order_acquire) ? engine::KeyHandle{} : handle_;
}

bool run_software(ProvOpStats& st, FunctionRef<bool()> software) {
  const bool ok = software();
  (ok ? st.sw : st.failed).fetch_add(1, std::memory_order_relaxed);
  return ok;
}

bool run_or_fall_back(ProvCtx* pc, ProvOp which, engine::Engine* eng, engine::Op op, engine::KeyHandle key,
                      const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len, FunctionRef<bool()> software,
                      const engine::AeadParams* aead) {
  ProvOpStats& st = pc->stats[which];
  uint64_t give_up_ns = 0;
  for (;;) {
    const CallResult r = call_engine(pc, which, eng, op, key, in, in_len, out, out_len, aead);
    if (r == CallResult::kOk) return true;
    if (r == CallResult::kFailed) {
      st.failed.fetch_add(1);
      return false;
    }
    if (r == CallResult::kRefused) break;  // software below
    // The engine's queue is full. In software here, unless that many callers
    // already are: then wait for room and try again, for a while.
    BusyRun run;
    if (!run.enter(busy_bound(pc->config))) {
      if (give_up_ns == 0) {
        give_up_ns = steady_ns() + kBusyWaitNs;
        st.busy_waited.fetch_add(1, std::memory_order_relaxed);
      }
      if (steady_ns() < give_up_ns && wait_for_room()) continue;
      st.busy_past_bound.fetch_add(1, std::memory_order_relaxed);
      run.enter(0);  // counted too when past the bound
    }
    st.busy.fetch_add(1, std::memory_order_relaxed);
    return run_software(st, software);
  }
  return run_software(st, software);
}

bool run_private_op(ProvCtx* pc, ProvOp which, EngineKeyRef& ref,
                    FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg, engine::Op op,
                    const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len, FunctionRef<bool()> software,
                    const engine::AeadParams* aead) {
  ProvOpStats& st = pc->stats[which];
  if (engine::Engine* eng = pc->engine()) {
    const engine::KeyHandle h = ref.handle_for(eng, reg);
    if (h.valid()) return run_or_fall_back(pc, which, eng, op, h, in, in_len, out, out_len, software, aead);
    st.key_refused.fetch_add(1);
  }
  return run_software(st, software);
}

bool run_record_op(ProvCtx* pc, ProvOp which, EngineKeyRef& ref, AeadLaneCache& cache,
                   FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg, engine::Op op,
                   const uint8_t* in, uint8_t* out, size_t len, const engine::AeadParams& aead,
                   FunctionRef<bool()> software, LaneResult tried) {
  ProvOpStats& st = pc->stats[which];
  const bool seal = op == engine::Op::kAesGcmSeal;
  LaneResult r = tried;  // the caller's run_on_lane on this cache (not tried again here)
  engine::Engine* eng = nullptr;
  if (r == LaneResult::kNotTaken && (eng = pc->engine()) && runs_inline(pc->config, eng, op, len)) {
    if (cache.engine != eng || !cache.lane) {
      cache = AeadLaneCache{};
      const engine::KeyHandle h = ref.handle_for(eng, reg);
      if (h.valid() && eng->aead_lane(h, &cache.lane) == engine::Status::kOk) {
        cache.engine = eng;
        cache.inline_below = inline_record_limit(pc->config, eng);
      }
    }
    if (cache.lane) r = run_on_lane(cache, st, seal, aead, in, out, len);
  }
  switch (r) {
    case LaneResult::kOk: return true;
    case LaneResult::kFailed: return false;
    case LaneResult::kRefused: return run_software(st, software);  // e.g. shut down: not the same refusal again
    case LaneResult::kNotTaken: break;
  }
  return run_private_op(pc, which, ref, reg, op, in, len, out, len, software, &aead);
}

}  // namespace gputls::host
