#!/usr/bin/env python3
"""Static performance model of the gputls CUDA kernels (issue 19, part 1).

Everything this prints or writes is a PREDICTION made without a GPU:
  1. ptxas resource report per __global__ (registers, stack, spills, shared
     memory) from `nvcc -cubin -arch=sm_90 -Xptxas -v` with the project's flags,
     and the occupancy it allows at the launcher's block size;
  2. the SASS of each cubin (nvdisasm from Debian's nvidia-cuda-toolkit .deb,
     fetched with a private apt configuration, never installed), classified by
     pipe, with the hot loops found by their back edges and named by the source
     lines (nvdisasm -gi inline chains) they come from;
  3. dynamic SASS instructions per operation = hot-loop bodies x trip counts
     derived from the kernels' own code (limb counts, window sizes, exponent
     lengths: see each model's "method"), plus the code outside loops once;
  4. issue bound (per-pipe throughput, CUDA C Programming Guide, compute
     capability 9.0) and memory bound (L2 / HBM / L1, with the coalescing of each
     access pattern), predicted = min of the two;
  5. bench/results/model-<gpu>/gpu_model.json for H100 SXM, H100 PCIe, H200.

Standard library only. Exit status 0 when the model was computed (whatever it
predicts), non-zero when it could not be (no nvcc, a kernel failed to compile).
"""

import argparse
import collections
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------
# Assumptions: every number the model uses that does not come from this tree.
# ---------------------------------------------------------------------------
PG = ("CUDA C++ Programming Guide, section 'Arithmetic Instructions' (in 'Performance "
      "Guidelines' / 'Maximize Instruction Throughput'), table 'Throughput of Native "
      "Arithmetic Instructions (Operations per Clock Cycle per Multiprocessor)', column 9.0 "
      "(values as recorded from the guide; the guide was not re-read on the build machine)")
CC_TABLE = ("CUDA C++ Programming Guide, 'Compute Capabilities', table 'Technical "
            "Specifications per Compute Capability', column 9.0")

GPUS = {
    "h100-sxm": {"name": "NVIDIA H100 SXM5 80GB", "sms": 132, "clock_ghz": 1.98, "hbm_tbps": 3.35,
                 "l2_mb": 50,
                 "src": "NVIDIA H100 Tensor Core GPU datasheet / Hopper architecture whitepaper: "
                        "132 SMs, 1.98 GHz max boost (SXM5), HBM3 3.35 TB/s, 50 MB L2"},
    "h100-pcie": {"name": "NVIDIA H100 PCIe 80GB", "sms": 114, "clock_ghz": 1.755, "hbm_tbps": 2.0,
                  "l2_mb": 50,
                  "src": "NVIDIA H100 datasheet / Hopper whitepaper: 114 SMs, 1.755 GHz max boost "
                         "(PCIe), HBM2e 2.0 TB/s, 50 MB L2"},
    "h200": {"name": "NVIDIA H200 SXM 141GB", "sms": 132, "clock_ghz": 1.98, "hbm_tbps": 4.8,
             "l2_mb": 50,
             "src": "NVIDIA H200 datasheet: same GH100 die and clocks as H100 SXM (132 SMs, "
                    "1.98 GHz), HBM3e 4.8 TB/s, 50 MB L2"},
}

SM90 = {"regs_per_sm": 65536, "max_threads_per_sm": 2048, "max_blocks_per_sm": 32,
        "smem_per_sm": 228 * 1024, "smem_per_block_reserved": 1024, "reg_alloc_unit_per_warp": 256,
        "max_regs_per_thread": 255, "warp": 32}

# Per SM per clock, in thread-operations (a warp instruction = 32).
RATES = {
    "issue": 128,   # 4 schedulers x 1 warp instruction per clock
    "imad": 64,     # 32-bit integer multiply / multiply-add / extended-precision multiply-add
    "alu": 64,      # 32-bit integer add/sub/extended, shift, compare, bitwise logic
    "lsu": 32,      # load/store unit: one warp-wide memory instruction per SM per clock
    "bra": 32,      # branch unit
}
L1_BYTES_PER_CLK_PER_SM = 128  # L1/shared: 128 B per clock per SM
L2_BYTES_PER_CLK_PER_SM = 64   # assumed L2 -> SM bandwidth, see the assumption table
SECTOR = 32

ASSUMPTIONS = [
    {"name": "issue rate", "value": "128 thread-instructions / clk / SM (4 warp schedulers x 1 warp "
     "instruction per clock)", "source": "Hopper whitepaper (4 SM sub-partitions, one warp scheduler "
     "each, dispatching one warp instruction per clock)"},
    {"name": "IMAD throughput", "value": "64 / clk / SM for IMAD, IMAD.MOV, IMAD.SHL, IMAD.IADD, IMAD.X",
     "source": PG + ": 32-bit integer multiply, multiply-add, extended-precision multiply-add = 64 (cc 9.0)"},
    {"name": "IMAD.WIDE / IMAD.HI cost", "value": "2 IMAD slots each (32x32->64 result)",
     "source": "ASSUMPTION: the Programming Guide lists only the 32-bit forms; a 64-bit result is taken "
               "to need two passes of the 32-bit multiplier. To be calibrated by scripts/gpu-check.sh"},
    {"name": "integer / logic throughput", "value": "64 / clk / SM for IADD3, LOP3, SHF, ISETP, LEA, SEL, "
     "PRMT, VIADD, IABS, FLO, POPC-class and moves (MOV) counted here too",
     "source": PG + ": 32-bit integer add/subtract/extended-precision add/subtract, shift, compare, "
               "bitwise AND/OR/XOR = 64 (cc 9.0); moves and PRMT: ASSUMPTION same pipe"},
    {"name": "load/store throughput", "value": "32 thread-operations / clk / SM (one warp-wide LD/ST "
     "instruction per clock per SM) for LDG, STG, LDL, STL, LDS, STS, LD, ST, ATOM(G), RED, LDC",
     "source": "ASSUMPTION (not in the Programming Guide table): 4 LSU lanes-groups of 8 per SM sub-partition; "
               "to be calibrated by scripts/gpu-check.sh"},
    {"name": "branch throughput", "value": "32 / clk / SM for BRA, BSSY, BSYNC, CALL, RET, EXIT, WARPSYNC",
     "source": "ASSUMPTION: one branch unit per sub-partition at 8 lanes/clk"},
    {"name": "dependent-issue latency and pipe hold (X25519 requests-in-flight figure)",
     "value": "4 cycles from issue to a dependent issue for ALU and IMAD, 5 for IMAD.WIDE/HI, 30 for L1 loads; "
              "a warp instruction holds its 16-lane pipe of the sub-partition 2 cycles (4 for IMAD.WIDE/HI)",
     "source": "ASSUMPTION: of the order reported by microbenchmarks of Volta/Turing/Ampere integer pipes (Jia et "
               "al., arXiv:1804.06826 and 1903.07486); to be calibrated by scripts/gpu-check.sh"},
    {"name": "SM limits (sm_90)", "value": "65536 registers, 2048 threads, 32 blocks, 228 KB shared "
     "memory (1 KB reserved per block), register allocation 256 per warp, 255 registers per thread max",
     "source": CC_TABLE},
    {"name": "L1 / shared bandwidth", "value": "128 B / clk / SM",
     "source": "ASSUMPTION (commonly quoted for Volta..Hopper: 32 banks x 4 B per clock); local-memory "
               "traffic that stays in L1 is bounded by it"},
    {"name": "L2 bandwidth", "value": "effective 25.6 B / clk / SM for scattered 32 B sector traffic "
     "(0.4 x an assumed 64 B/clk/SM peak): 6.7 TB/s on H100 SXM, 5.1 TB/s on H100 PCIe",
     "source": "ASSUMPTION: NVIDIA publishes no L2 bandwidth for Hopper. 64 B/clk/SM is an assumed peak; "
               "the 0.4 factor puts the result near the roughly 5.5-7 TB/s that third-party microbenchmarks "
               "report for H100 (recalled, not verified here). The largest single uncertainty of the model: "
               "calibrate with scripts/gpu-check.sh"},
    {"name": "memory transaction size", "value": "32 B sectors; a warp access in which every thread "
     "touches a different sector costs 32 sectors",
     "source": "CUDA C++ Best Practices Guide, 'Coalesced Access to Global Memory' (32-byte segments)"},
    {"name": "local memory layout", "value": "local memory is interleaved per thread (consecutive "
     "threads' same 32-bit word adjacent), so a warp-wide LDL/STL of 4 B is one fully used 128 B request",
     "source": "CUDA C++ Programming Guide, 'Device Memory Accesses' / 'Local Memory' (organized such "
               "that consecutive 32-bit words are accessed by consecutive thread IDs)"},
    {"name": "latency hiding", "value": "issue bound assumes enough resident warps to hide latency; "
     "occupancy is reported, not used to scale the bound", "source": "modelling choice"},
]
for g in GPUS.values():
    ASSUMPTIONS.append({"name": "GPU " + g["name"], "value": "%d SMs, %.3f GHz, HBM %.2f TB/s, L2 %d MB"
                        % (g["sms"], g["clock_ghz"], g["hbm_tbps"], g["l2_mb"]), "source": g["src"]})

# The project's CUDA compile flags (CMakeLists.txt: CUDA 17, arch 90, RelWithDebInfo
# = -O2 -g -DNDEBUG on nvcc, kernels/CMakeLists.txt: --Werror=all-warnings and the
# include directory). -lineinfo adds only the line table nvdisasm -gi reads.
NVCC_FLAGS = ["-std=c++17", "-O2", "-DNDEBUG", "--Werror=all-warnings", "-arch=sm_90", "-lineinfo"]

# Launcher block sizes are read from the .cu (constexpr kThreadsPerBlock / kThreadsPerItem).
KERNEL_FILES = ["rsa_batch.cu", "ec_batch.cu", "x25519_batch.cu", "aes_gcm_batch.cu", "echo_batch.cu", "mlkem_batch.cu"]


def log(msg):
    print("gpu-model: " + msg, flush=True)


# ---------------------------------------------------------------------------
# 1. Compile and ptxas resource usage
# ---------------------------------------------------------------------------
def block_size_of(cu_path):
    src = open(cu_path).read()
    m = re.search(r"constexpr\s+uint32_t\s+kThreadsPer(?:Block|Item)\s*=\s*(\d+)", src)
    return int(m.group(1)) if m else None


def compile_cubin(nvcc, cu, out_dir, extra=(), tag=""):
    cu_path = os.path.join(ROOT, "kernels", "src", cu)
    cubin = os.path.join(out_dir, cu.replace(".cu", tag + ".cubin"))
    cmd = [nvcc, "-cubin"] + NVCC_FLAGS + list(extra) + ["-I", os.path.join(ROOT, "kernels", "include"),
                                                         "-Xptxas", "-v", "-o", cubin, cu_path]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("nvcc failed for %s:\n%s" % (cu, p.stderr[-3000:]))
    return cubin, p.stdout + p.stderr, " ".join(cmd)


def parse_ptxas(text):
    """Per function: regs, stack, spill stores/loads, smem, entry or not."""
    funcs = collections.OrderedDict()
    cur = None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            cur = m.group(1)
            funcs.setdefault(cur, {"entry": True})
            continue
        m = re.search(r"Function properties for (\S+)", line)
        if m:
            cur = m.group(1)
            funcs.setdefault(cur, {"entry": False})
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            f = funcs[cur]
            f["stack_bytes"], f["spill_store_bytes"], f["spill_load_bytes"] = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            f = funcs[cur]
            f["regs"] = int(m.group(1))
            sm = re.search(r"(\d+) bytes smem", line)
            f["smem_bytes"] = int(sm.group(1)) if sm else 0
            cs = re.search(r"(\d+) bytes cumulative stack size", line)
            f["cumulative_stack_bytes"] = int(cs.group(1)) if cs else f.get("stack_bytes", 0)
    return funcs


def occupancy(regs, block, smem=0):
    w = SM90["warp"]
    warps_per_block = math.ceil(block / w)
    regs_per_warp = math.ceil(regs * w / SM90["reg_alloc_unit_per_warp"]) * SM90["reg_alloc_unit_per_warp"]
    by_regs = (SM90["regs_per_sm"] // regs_per_warp) // warps_per_block
    by_threads = SM90["max_threads_per_sm"] // (warps_per_block * w)
    by_smem = (SM90["smem_per_sm"] // (smem + SM90["smem_per_block_reserved"])) if smem else 10 ** 9
    blocks = min(by_regs, by_threads, SM90["max_blocks_per_sm"], by_smem)
    limiter = min((by_regs, "registers"), (by_threads, "threads"), (SM90["max_blocks_per_sm"], "blocks"),
                  (by_smem, "shared memory"))[1]
    warps = blocks * warps_per_block
    return {"block_size": block, "blocks_per_sm": blocks, "warps_per_sm": warps,
            "threads_per_sm": warps * w, "occupancy": round(warps / (SM90["max_threads_per_sm"] // w), 4),
            "limited_by": limiter}


# ---------------------------------------------------------------------------
# 2. Tools (nvdisasm) and SASS
# ---------------------------------------------------------------------------
def get_tools(tools_dir):
    """nvdisasm from Debian trixie's non-free nvidia-cuda-toolkit .deb, cached under
    tools_dir. Never installs anything; a private apt configuration only."""
    tools_dir = os.path.abspath(tools_dir)
    nvd = os.path.join(tools_dir, "usr", "bin", "nvdisasm")
    if os.access(nvd, os.X_OK):
        return nvd, None
    for name in ("nvdisasm",):
        found = shutil.which(name)
        if found:
            return found, None
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        return None, "no nvdisasm on PATH and no apt-get/dpkg-deb to fetch Debian's nvidia-cuda-toolkit"
    apt = os.path.join(tools_dir, "apt")
    os.makedirs(os.path.join(apt, "lists", "partial"), exist_ok=True)
    os.makedirs(os.path.join(apt, "cache", "archives", "partial"), exist_ok=True)
    sources = os.path.join(apt, "sources.list")
    with open(sources, "w") as f:
        f.write("deb http://deb.debian.org/debian trixie non-free\n")
    opts = ["-o", "Dir::Etc::SourceList=" + sources, "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", "Dir::State::Lists=" + os.path.join(apt, "lists"),
            "-o", "Dir::Cache=" + os.path.join(apt, "cache"), "-o", "APT::Sandbox::User=root",
            "-o", "Debug::NoLocking=1"]
    log("fetching Debian trixie nvidia-cuda-toolkit (about 85 MB) for nvdisasm, private apt config in " + apt)
    # A registry that does not answer costs at most a few minutes, and the
    # model then goes on without SASS (it says why) instead of failing.
    try:
        p = subprocess.run(["apt-get"] + opts + ["update"], capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            return None, "apt-get update (private trixie non-free sources) failed: " + (p.stderr or p.stdout)[-400:]
        p = subprocess.run(["apt-get"] + opts + ["download", "nvidia-cuda-toolkit"], capture_output=True,
                           text=True, cwd=tools_dir, timeout=300)
    except (subprocess.TimeoutExpired, OSError) as e:
        return None, "fetching nvidia-cuda-toolkit did not finish: %s" % e
    debs = [f for f in os.listdir(tools_dir) if f.startswith("nvidia-cuda-toolkit_") and f.endswith(".deb")]
    if p.returncode != 0 or not debs:
        return None, "apt-get download nvidia-cuda-toolkit failed: " + (p.stderr or p.stdout)[-400:]
    deb = os.path.join(tools_dir, sorted(debs)[-1])
    tar = subprocess.run("dpkg-deb --fsys-tarfile '%s' | tar -x -C '%s' ./usr/bin/nvdisasm ./usr/bin/cuobjdump"
                         % (deb, tools_dir), shell=True, capture_output=True, text=True)
    if tar.returncode != 0 or not os.access(nvd, os.X_OK):
        return None, "extracting nvdisasm from %s failed: %s" % (deb, tar.stderr[-400:])
    os.remove(deb)  # keep only the two binaries
    return nvd, None


class Ins:
    __slots__ = ("idx", "addr", "pred", "op", "text", "chain")

    def __init__(self, idx, addr, pred, op, text, chain):
        self.idx, self.addr, self.pred, self.op, self.text, self.chain = idx, addr, pred, op, text, chain


class Func:
    def __init__(self, name):
        self.name = name
        self.ins = []
        self.labels = {}
        self._loops = None

    def loops(self):
        """Natural loops by back edge: (head, tail) index pairs, innermost first by size."""
        if self._loops is None:
            out = []
            for i in self.ins:
                if i.op.startswith("BRA"):
                    m = re.search(r"`\((\.L_x_\d+)\)", i.text)
                    # (a one-instruction self-loop is the compiler's trap after EXIT: never run)
                    if m and m.group(1) in self.labels and self.labels[m.group(1)] < i.idx:
                        out.append(Loop(self, self.labels[m.group(1)], i.idx))
            for a in out:
                a.children = [b for b in out if b is not a and a.head <= b.head and b.tail <= a.tail]
                a.parent = None
            for a in out:
                enclosing = [b for b in out if b is not a and b.head <= a.head and a.tail <= b.tail]
                a.parent = min(enclosing, key=lambda b: b.tail - b.head) if enclosing else None
            self._loops = out
        return self._loops


class Loop:
    def __init__(self, func, head, tail):
        self.func, self.head, self.tail = func, head, tail
        self.children = []
        self.parent = None

    @property
    def body(self):
        return self.func.ins[self.head:self.tail + 1]

    def __len__(self):
        return self.tail - self.head + 1

    def frames(self):
        """Counter of (file, line) over every level of every instruction's inline chain."""
        c = collections.Counter()
        for i in self.body:
            for fr in set(i.chain):
                c[fr] += 1
        return c

    def share(self, pred):
        n = sum(1 for i in self.body if any(pred(f, l) for f, l in i.chain))
        return n / len(self)

    def innermost_share(self, pred):
        n = sum(1 for i in self.body if i.chain and pred(*i.chain[0]))
        return n / len(self)


def disassemble(nvdisasm, cubin):
    p = subprocess.run([nvdisasm, "-c", "-gi", cubin], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("nvdisasm failed on %s: %s" % (cubin, p.stderr[-400:]))
    funcs = collections.OrderedDict()
    cur = None
    chain = []
    pending = []
    for line in p.stdout.splitlines():
        m = re.match(r"^\.text\.(\S+):\s*$", line) or re.match(r"^\$\S*\$(\S+):\s*$", line)
        if m:
            cur = Func(m.group(1))
            funcs[cur.name] = cur
            chain, pending = [], []
            continue
        if cur is None:
            continue
        m = re.match(r'\s*//## File "([^"]+)", line (\d+)(?: inlined at "([^"]+)", line (\d+))?', line)
        if m:
            pending.append((os.path.basename(m.group(1)), int(m.group(2))))
            continue
        m = re.match(r"\s*(\.L_x_\d+):", line)
        if m:
            cur.labels[m.group(1)] = len(cur.ins)
            continue
        m = re.match(r"\s*/\*([0-9a-f]+)\*/\s+(.*?)\s*;", line)
        if m:
            if pending:
                chain = pending  # innermost first
                pending = []
            text = m.group(2).strip()
            pred = None
            pm = re.match(r"(@!?U?P[T0-9]+)\s+(.*)", text)
            if pm:
                pred, text = pm.group(1), pm.group(2)
            op = text.split()[0] if text else ""
            cur.ins.append(Ins(len(cur.ins), int(m.group(1), 16), pred, op, text, tuple(chain)))
    return funcs


CLASSES = ["imad", "imad_wide_hi", "int_logic", "ldg", "stg", "ldl", "stl", "lds", "sts", "ld_st_other",
           "atom", "branch", "other"]


def classify(op):
    base = op.split(".")[0]
    if base == "IMAD":
        if ".WIDE" in op or ".HI" in op:
            return "imad_wide_hi"
        return "imad"
    if base in ("IADD3", "IADD", "VIADD", "LOP3", "LOP", "SHF", "SHL", "SHR", "ISETP", "LEA", "SEL", "PRMT",
                "MOV", "UMOV", "IABS", "IMNMX", "VIMNMX", "FLO", "POPC", "BREV", "PLOP3", "P2R", "R2P", "CS2R",
                "S2R", "S2UR", "UIADD3", "ULOP3", "USHF", "UISETP", "ULEA", "USEL", "UPRMT", "UIMAD", "ULDC",
                "LDC", "SGXT", "BMSK", "VIADDMNMX", "IDP", "IMUL", "UFLO", "UPOPC", "USGXT", "UBMSK", "R2UR", "ISCADD",
                "MOV32I", "UIADD3.64", "LEPC", "VOTEU", "VOTE"):
        return "int_logic"
    if base in ("LDG", "STG", "LDL", "STL", "LDS", "STS"):
        return base.lower()
    if base in ("LD", "ST", "LDSM", "LDGSTS", "LDGDEPBAR"):
        return "ld_st_other"
    if base in ("ATOM", "ATOMG", "RED", "REDG", "ATOMS"):
        return "atom"
    if base in ("BRA", "BRX", "BSSY", "BSYNC", "CALL", "RET", "EXIT", "JMP", "WARPSYNC", "BAR", "BPT",
                "NOP", "YIELD", "BREAK", "KILL"):
        return "branch"
    return "other"


def mix_of(instrs, weight=1.0):
    c = collections.Counter()
    for i in instrs:
        c[classify(i.op)] += weight
    return c


def scaled(c, k):
    return collections.Counter({a: v * k for a, v in c.items()})


def addc(*cs):
    out = collections.Counter()
    for c in cs:
        for a, v in c.items():
            out[a] += v
    return out


def total(c):
    """Instructions in a mix (keys starting with '#' are call counters, not instructions)."""
    return sum(v for k, v in c.items() if not k.startswith("#"))


# ---------------------------------------------------------------------------
# 3. Per-kernel dynamic instruction models
# ---------------------------------------------------------------------------
_SRC = {}


def L(fname, pattern, nth=1, after=None):
    """Line number of the nth line of kernels/include/gputls/kernels/<fname> matching
    pattern (regex), optionally only after the first line matching `after`: the model
    names source lines by their text, so edits elsewhere in a header do not break it."""
    if fname not in _SRC:
        _SRC[fname] = open(os.path.join(ROOT, "kernels", "include", "gputls", "kernels", fname)).read().splitlines()
    seen, start = 0, after is None
    for k, line in enumerate(_SRC[fname], 1):
        if not start:
            start = re.search(after, line) is not None
            continue
        if re.search(pattern, line):
            seen += 1
            if seen == nth:
                return k
    raise ModelError("no line matching %r in %s (the model must be updated with the kernel)" % (pattern, fname))


def in_file(fname, lo=0, hi=10 ** 9):
    return lambda f, l: f == fname and lo <= l <= hi


def find_loops(func, pred, min_share=0.5, innermost=None, min_len=0, max_len=10 ** 9, has_child=None):
    out = []
    for lp in func.loops():
        if not (min_len <= len(lp) <= max_len):
            continue
        if innermost is True and lp.children:
            continue
        if innermost is False and not lp.children:
            continue
        if has_child is not None and not any(has_child(ch) for ch in lp.children):
            continue
        if lp.innermost_share(pred) >= min_share:
            out.append(lp)
    return out


def median_loop(loops):
    if not loops:
        return None
    s = sorted(loops, key=len)
    return s[len(s) // 2]


class ModelError(Exception):
    pass


def model_rsa(funcs, bits, e=65537):
    """rsa_crt_fixed_kernel<H> (rsa_crt_fixed.h over mp_fixed.h): every instruction
    weighted by the product of the trip counts of the loops around it, each loop
    named by the source line of its back edge."""
    h = bits // 64
    l = 2 * h
    func = next((f for n, f in funcs.items() if "rsa_crt_fixed_kernelILi%dE" % h in n), None)
    if func is None:
        raise ModelError("rsa_crt_fixed_kernel<%d> not in the cubin" % h)
    F, R = "mp_fixed.h", "rsa_crt_fixed.h"
    src = open(os.path.join(ROOT, "kernels", "include", "gputls", "kernels", F)).read()
    wbits = int(re.search(r"kWindowBits\s*=\s*(\d+)", src).group(1))
    entries = 1 << wbits
    sqr_max = int(re.search(r"kSqrInRegistersMax\s*=\s*(\d+)", src).group(1))
    windows = 32 * h // wbits
    top = e.bit_length() - 1
    mults_in_check = bin(e).count("1") - 1
    after_mm = r"GT_HD void mont_mul\("
    rules = {
        (F, L(F, r"GT_ROLLED for \(int i = 0; i < N; \+\+i\) \{", after=after_mm)): float(h),
        (F, L(F, r"GT_ROLLED for \(int i = 0; i < N; \+\+i\) redc_step")): float(h),
        (F, L(F, r"GT_ROLLED for \(int j = 0; j < N; \+\+j\) \{", after=r"GT_HD void table_select\(")): float(h),
        (F, L(F, r"GT_ROLLED for \(int e = 2; e < kTableEntries")): float(entries - 2),
        (F, L(F, r"GT_ROLLED for \(int w = windows - 2; w >= 0")): float(windows - 1),
        (F, L(F, r"GT_ROLLED for \(int k = 0; k < kWindowBits")): float(wbits),
        (F, L(F, r"GT_ROLLED for \(int k = 0; k < 2 \* N; \+\+k\) r\[k\] = 0;")): float(2 * h),
        (F, L(F, r"GT_ROLLED for \(int i = 0; i < N; \+\+i\) \{", after=r"GT_HD void mul_wide\(")): float(h),
        ("rsa_batch.h", L("rsa_batch.h", r"for \(uint32_t j = 0; j < b.bytes; \+\+j\) out\[j\] = 0;",
                          after=r"GT_HD void rsa_batch_thread_fixed\(")): 0.0,  # key-size refusal
        # nvcc wraps the code between two __syncwarp(pair) calls in a back edge
        # (the pair's reconvergence): taken once
        ("sm_30_intrinsics.hpp", 110): 1.0,
        (R, L(R, r"GT_ROLLED for \(int i = 0; i < L; \+\+i\) \{")): float(l),
        (R, L(R, r"GT_ROLLED for \(int b = top - 1; b >= 0; --b\)")): float(top),
        (R, L(R, r"GT_ROLLED for \(int i = 0; i < L; \+\+i\) res\[i\] &= release;")): float(l),
    }
    l_cond_mul = L(R, r"if \(\(e >> b\) & 1\) mpf::mont_mul")
    # Two threads per request (rsa_crt_fixed.h): phases 1 and 3 run in both,
    # phases 2 (Garner) and 4 (release) in the half-0 thread only. The mix below
    # is per thread, then x 2 per request.
    ph2 = (L(R, r"GT_HD void rsa_crt_phase2\("), L(R, r"GT_HD void rsa_crt_phase3\(") - 1)
    ph4 = (L(R, r"GT_HD uint32_t rsa_crt_phase4\("), L(R, r"GT_HD uint32_t rsa_crt_phase4\(") + 12)
    l_keysize = L("rsa_batch.h", r"b.status\[i\] = kRsaKeySize;")
    unknown = []

    # mp.h's runtime-limb loops (bytes in and out, range checks): 2H limbs, as nvcc unrolls them
    limb = limb_loop_trips(func, l)

    def trip_of(lp):
        tail = func.ins[lp.tail].chain[0] if func.ins[lp.tail].chain else None
        if tail in rules:
            return rules[tail]
        if tail and tail[0] == "mp.h" and lp.head in limb:
            return limb[lp.head]
        if tail and tail[0] == R and abs(tail[1] - rules_line_top) <= 1:
            return float(63 - top)  # while (top > 0 && !((e >> top) & 1)) --top;
        unknown.append((tail, len(lp)))
        return 1.0
    rules_line_top = L(R, r"while \(top > 0 && !\(\(e >> top\) & 1\)\) --top;")

    def excl(i):  # the key-size refusal
        return any(f == "rsa_batch.h" and l_keysize - 3 <= l <= l_keysize for f, l in i.chain)
    w = weights(func, trip_of, excl)
    for k, i in enumerate(func.ins):
        if not w[k]:
            continue
        # the check loop's conditional multiply runs for the set bits of e below the top one only
        if any(f == R and l == l_cond_mul for f, l in i.chain):
            w[k] *= mults_in_check / float(top)
        # half-0-only phases: one thread of the two
        if any(f == R and (ph2[0] <= l <= ph2[1] or ph4[0] <= l <= ph4[1]) for f, l in i.chain):
            w[k] *= 0.5
        w[k] *= 2  # two threads per request
    mix = weighted_mix(func, w)

    # Memory, per thread-access: scratch (mpf::Lane, limb-major: a warp's 32
    # accesses share 4 sectors, 4 B each), key material (mpf::Limbs and the key
    # header: one key per warp in a TLS server, one sector per warp instruction),
    # request input/output bytes and batch arrays (one sector per thread), spills
    # (local memory, interleaved per thread: 4 B each).
    key_lo, key_hi = L(R, r"struct FixedRsaKey \{"), L(R, r"struct FixedRsaScratch \{")
    l_limbs = L(F, r"GT_HD uint32_t operator\[\]\(int k\) const \{ return p\[k\]; \}")
    scratch = key = per_thread = local = 0.0
    for i, x in zip(func.ins, w):
        cls = classify(i.op)
        if not x or cls not in ("ldg", "stg", "ldl", "stl"):
            continue
        inner = i.chain[0] if i.chain else ("", 0)
        if cls in ("ldl", "stl"):
            local += x * 4
        elif ".U8" in i.op or inner[0] in ("rsa_batch.h", "rsa_batch.cu"):
            per_thread += x * SECTOR  # input/output bytes, batch arrays (keys[i], status[i], fault_bit[i])
        elif any(f == F and l == l_limbs for f, l in i.chain) or (inner[0] == R and key_lo <= inner[1] <= key_hi):
            key += x * SECTOR / 32.0
        else:
            scratch += x * 4  # mpf::Lane (nvcc's line table does not keep Lane::operator[]'s own frame)
    scratch_words = 2 * (23 * h + 2)
    mem = {"pattern": "operands, accumulators and the modulus in registers; scratch (table of %d entries, "
                      "input, result, temporaries: %d B per request) limb-major across the batch, so a warp's "
                      "accesses to one word coalesce (4 B per thread access); key material read at the same "
                      "address by the threads of a warp (one key per warp); spills in local memory"
                      % (entries, 4 * scratch_words),
           "l2_bytes_per_op": scratch + key + per_thread + local,
           "scratch_bytes_per_op": scratch, "key_bytes_per_op": key, "per_thread_bytes_per_op": per_thread,
           "local_bytes_per_op": local,
           "hbm_bytes_per_op": 2 * bits // 8 + per_thread,
           "working_set_bytes_per_request": 4 * scratch_words}
    sq_calls = 2 * (wbits * (windows - 1) + top)
    mm_calls = 2 * (1 + 2 + (entries - 2) + (windows - 1)) + 3 + 2 * (2 + mults_in_check)  # Garner once
    dedicated = h <= sqr_max
    calls = {"mpf::mont_mul/%d" % h: mm_calls + (0 if dedicated else sq_calls)}
    if dedicated:
        calls["mpf::mont_sqr/%d" % h] = sq_calls
    method = ("SASS of rsa_crt_fixed_kernel<%d> (rsa_crt_fixed.h, mp_fixed.h), two threads per request (one per "
              "CRT half; Garner and the release in the half-0 thread only, weighted 1/2 per thread): every "
              "instruction weighted by the "
              "product of its loops' trip counts, loops named by the source line of their back edge: limb loops "
              "%d (mont_mul rows, mont_sqr reduction, table scan, mul_wide), 2H = %d (bytes, range checks, "
              "Garner add, release), %d-entry table built in %d multiplies, %d-bit windows: %d windows per "
              "half (%d squarings each%s), public check with e = %d mod p and mod q (%d squarings and %d "
              "multiplies each), one CRT half per thread; the key-size refusal excluded. Calls per op derived from these "
              "trip counts: %s.%s"
              % (h, h, l, entries, entries - 2, wbits, windows, wbits,
                 ", dedicated squaring" if dedicated else ", squarings as mont_mul: N > %d" % sqr_max,
                 e, top, mults_in_check, calls,
                 (" Loops without a trip rule counted once: %s." % unknown[:6]) if unknown else ""))
    return mix, mem, method, {"calls_per_op": calls, "windows_per_half": windows, "window_bits": wbits,
                              "threads_per_op": 2}


def weights(func, trip_of, exclude=lambda i: False):
    """Dynamic executions of each instruction: the product of the trip counts of the
    loops around it (trip_of(loop) per entry of that loop; 0 = not run for this op)."""
    w = [0.0 if exclude(i) else 1.0 for i in func.ins]
    for lp in func.loops():
        t = trip_of(lp)
        for k in range(lp.head, lp.tail + 1):
            w[k] *= t
    return w


def weighted_mix(func, w):
    c = collections.Counter()
    for i, x in zip(func.ins, w):
        if x:
            c[classify(i.op)] += x
    return c


def sq_n_counts():
    """fe25519.h invert(): line of each sq_n(h, f, N) call -> N (read from the source)."""
    out = {}
    path = os.path.join(ROOT, "kernels", "include", "gputls", "kernels", "fe25519.h")
    for k, line in enumerate(open(path), 1):
        m = re.search(r"\bsq_n\(\s*\w+\s*,\s*\w+\s*,\s*(\d+)\s*\)", line)
        if m:
            out[k] = int(m.group(1))
    return out


def model_x25519(funcs, op):
    func = next(f for n, f in funcs.items() if "x25519_batch_kernel" in n)
    l_step = L("x25519.h", r"for \(int t = \(w == 7 \? 30 : 31\); t >= 0; --t\)")
    ladder_body = in_file("x25519.h", l_step + 1, L("x25519.h", r"mul\(z2, e, a\);", after=r"GT_HD void ladder\("))
    ladder_fn = (L("x25519.h", r"GT_HD void ladder\("), L("x25519.h", r"GT_HD uint32_t finish\(") - 1)
    l_sqn = L("fe25519.h", r"for \(int i = 1; i < n; \+\+i\) sq\(h, h\);")
    fb = "x25519_fixed_base.h"
    l_cols = L(fb, r"for \(int j = 0; j < kBaseCols; \+\+j\)", after=r"GT_HD void select\(")
    l_sel = (L(fb, r"GT_HD void select\("), L(fb, r"GT_HD void base_mul\(") - 1)
    l_dbl4 = L(fb, r"for \(int i = 0; i < 4; \+\+i\) dbl\(p\);", after=r"GT_HD void base_mul\(")
    l_bm = (L(fb, r"GT_HD void base_mul\("), L(fb, r"GT_HD void base_mul\(") + 24)
    fixed = lambda f, l: f == "x25519_fixed_base.h"
    step = max((lp for lp in func.loops() if len(lp) > 500 and lp.share(ladder_body) > 0.8
                and lp.share(fixed) == 0), key=lambda lp: lp.share(ladder_body), default=None)
    if step is None or step.parent is None:
        raise ModelError("x25519 ladder loops not found")
    word = step.parent
    sqn = sq_n_counts()
    sq_trips = {}
    for lp in func.loops():
        if lp.share(in_file("fe25519.h", l_sqn, l_sqn)) > 0.8:
            calls = [l for i in lp.body for f, l in i.chain if f == "fe25519.h" and l in sqn]
            if calls:
                sq_trips[lp.head] = sqn[collections.Counter(calls).most_common(1)[0][0]] - 1
    unmodelled = []
    # keygen: base_mul (x25519_fixed_base.h): 32 odd digits, 4 doublings, 32 even digits; select: 8 columns
    src = open(os.path.join(ROOT, "kernels", "include", "gputls", "kernels", "x25519_fixed_base.h")).read()
    digits = int(re.search(r"kDigits\s*=\s*(\d+)", src).group(1))
    cols = int(re.search(r"kBaseCols\s*=\s*(\d+)", src).group(1))

    def trip_of(lp):
        if lp is step:
            return 255.0 / 8  # bits 254..0 over 8 words: 31 + 7 x 32 = 255 steps
        if lp is word:
            return 8.0
        if lp.head in sq_trips:
            return float(sq_trips[lp.head])
        in_fixed = lp.share(fixed) > 0.5
        if op == "derive" and in_fixed:
            return 0.0
        if op == "keygen" and in_fixed:
            fr = lp.frames()
            if any(f == fb and l == l_cols for f, l in fr) and lp.share(in_file(fb, *l_sel)) > 0.8:
                return float(cols)  # select: masked scan over the row's columns
            if lp.share(in_file(fb, l_dbl4, l_dbl4)) > 0.5:
                return 4.0
            if lp.share(in_file(fb, *l_bm)) > 0.5:
                return digits / 2.0
        if op == "keygen" and (lp is step or lp is word):
            return 0.0
        unmodelled.append(len(lp))
        return 1.0

    if op == "derive":
        excl = lambda i: any(f == "x25519_fixed_base.h" for f, _ in i.chain)
    else:
        excl = lambda i: any(f == "x25519.h" and ladder_fn[0] <= l <= ladder_fn[1] for f, l in i.chain)
    w = weights(func, lambda lp: 0.0 if (op == "keygen" and lp in (step, word)) else trip_of(lp), excl)
    mix = weighted_mix(func, w)
    method = ("SASS of x25519_batch_kernel: ladder step loop %d instructions x 255 steps (x25519.h: bits 254..0, "
              "word loop of 8 around it, %d instructions static); invert's sq_n loops (fe25519.h) x (N-1) with N "
              "read from each call (%s); keygen: x25519_fixed_base.h base_mul loops x %d/2 digits, select x %d "
              "columns, 4 doublings; every instruction weighted by the product of its loops' trip counts; "
              "straight code of the other op's path excluded.%s"
              % (len(step), len(word), sorted(sq_trips.values()), digits, cols,
                 (" Loops without a trip rule counted once: sizes %s." % unmodelled) if unmodelled else ""))
    local = mix["ldl"] + mix["stl"]
    mem = {"pattern": "operands in registers; 256 B stack (local memory, interleaved per thread, L1-resident: "
                      "%d local accesses per op); scalar, peer and output 32 B each, read/written once; keygen's "
                      "fixed-base table read by masked full scans at the same addresses in every thread of a warp "
                      "(one sector per warp instruction)" % round(local),
           "l1_bytes_per_op": local * 4,
           "l2_bytes_per_op": 3 * 32 + (mix["ldg"] * SECTOR / 32.0 if op == "keygen" else 0),
           "hbm_bytes_per_op": 3 * 32}
    step_cycles = in_order_cycles(step.body)
    return mix, mem, method, {"ladder_step_static": len(step), "sq_loop_trips": sorted(sq_trips.values()),
                              "ladder_step_cycles_one_warp": step_cycles,
                              "ladder_step_ipc_one_warp": round(len(step) / step_cycles, 3)}


# ---- Latency: one warp alone on a scheduler (in-order issue) -------------------
# ASSUMPTIONS (not in the Programming Guide): dependent-issue latencies and the
# cycles a warp instruction holds its pipe on one SM sub-partition. To be
# calibrated by scripts/gpu-check.sh.
LAT = {"alu": 4, "imad": 4, "imad_wide_hi": 5, "mem": 30, "other": 4}
PIPE_HOLD = {"alu": 2, "imad": 2, "imad_wide_hi": 4}  # 16 lanes per sub-partition; wide = 2 IMAD slots
_REG = re.compile(r"!?\b(U?R\d+|P\d+)\b")


def _operands(text):
    body = text.split(None, 1)[1] if " " in text else ""
    out, depth, cur = [], 0, ""
    for ch in body:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _dests_sources(ins):
    """Registers an instruction writes and reads (R, P; RZ/PT and uniform registers ignored)."""
    op = ins.op
    base = op.split(".")[0]
    ops = _operands(ins.text)
    no_dest = base in ("STL", "STG", "STS", "ST", "BRA", "EXIT", "BSYNC", "BSSY", "RET", "CALL", "WARPSYNC",
                       "RED", "REDG", "BAR", "NOP", "YIELD")
    dests, srcs = [], []
    k = 0
    if not no_dest and ops:
        first = re.fullmatch(r"(R\d+|P\d+|PT|RZ)", ops[0])
        if first:
            dests.append(ops[0])
            k = 1
            while k < len(ops) and re.fullmatch(r"P\d+|PT", ops[k]) and base in ("IADD3", "ISETP", "LEA", "PLOP3",
                                                                                     "IMAD", "LOP3", "SHF", "FSETP"):
                dests.append(ops[k])
                k += 1
    for o in ops[k:]:
        srcs += [m.group(1) for m in _REG.finditer(o)]
    if ins.pred:
        srcs += [m.group(1) for m in _REG.finditer(ins.pred)]
    wide = ".WIDE" in op or base in ("LDG", "LDL", "LDS", "LD") and (".64" in op)
    if wide and dests and dests[0].startswith("R"):
        dests.append("R%d" % (int(dests[0][1:]) + 1))
    if ".WIDE" in op and len(ops) >= 4 and re.fullmatch(r"R\d+", ops[3]):
        srcs.append("R%d" % (int(ops[3][1:]) + 1))
    if ".128" in op and dests and dests[0].startswith("R"):
        dests += ["R%d" % (int(dests[0][1:]) + i) for i in (1, 2, 3)]
    drop = {"RZ", "PT"}
    return [d for d in dests if d not in drop], [x for x in srcs if x not in drop and not x.startswith("UR")]


def in_order_cycles(instrs, repeat=2):
    """Cycles per pass of `instrs` for one warp issuing in order (one instruction a
    cycle at most, an instruction waits for its operands and for its pipe), in
    steady state: the last of `repeat` passes."""
    ready, pipe_free, t = collections.defaultdict(int), collections.defaultdict(int), 0
    starts = []
    for _ in range(repeat):
        starts.append(t)
        for ins in instrs:
            cls = classify(ins.op)
            dests, srcs = _dests_sources(ins)
            pipe = "alu" if cls == "int_logic" else cls if cls in PIPE_HOLD else None
            t = max([t + 1] + [ready[r] for r in srcs] + ([pipe_free[pipe]] if pipe else []))
            if pipe:
                pipe_free[pipe] = t + PIPE_HOLD[pipe]
            lat = LAT["mem"] if cls in ("ldg", "ldl", "lds", "ld_st_other") else LAT.get(
                "alu" if cls == "int_logic" else cls, LAT["other"])
            for d in dests:
                ready[d] = t + lat
    return t - starts[-1]


# ---------------------------------------------------------------------------
# 4. Bounds
# ---------------------------------------------------------------------------
def pipe_cycles(mix):
    """SM clock cycles per operation on each pipe (one thread's work; the SM runs many)."""
    lsu = mix["ldg"] + mix["stg"] + mix["ldl"] + mix["stl"] + mix["lds"] + mix["sts"] + mix["ld_st_other"] + mix["atom"]
    return {"issue": total(mix) / RATES["issue"],
            "imad": (mix["imad"] + 2 * mix["imad_wide_hi"]) / RATES["imad"],
            "alu": mix["int_logic"] / RATES["alu"],
            "lsu": lsu / RATES["lsu"],
            "branch": mix["branch"] / RATES["bra"]}


def bounds(mix, mem, gpu, items_per_op=1):
    clk = gpu["clock_ghz"] * 1e9
    cyc = pipe_cycles(mix)
    pipe, worst = max(cyc.items(), key=lambda kv: kv[1])
    issue = gpu["sms"] * clk / worst / items_per_op if worst else None
    mb = {}
    if mem.get("l2_bytes_per_op"):
        l2_bw = gpu["sms"] * clk * L2_BYTES_PER_CLK_PER_SM * 0.4
        mb["l2"] = l2_bw / (mem["l2_bytes_per_op"] * items_per_op)
    if mem.get("hbm_bytes_per_op"):
        mb["hbm"] = gpu["hbm_tbps"] * 1e12 / (mem["hbm_bytes_per_op"] * items_per_op)
    if mem.get("l1_bytes_per_op"):
        mb["l1"] = gpu["sms"] * clk * L1_BYTES_PER_CLK_PER_SM / (mem["l1_bytes_per_op"] * items_per_op)
    memory = min(mb.values()) if mb else None
    mem_level = min(mb, key=mb.get) if mb else None
    return issue, pipe, cyc, memory, mem_level, mb


# ---- EC (P-256 / P-384): noinline functions, costs composed through CALLs --------
def src_line(fname, pattern):
    path = os.path.join(ROOT, "kernels", "include", "gputls", "kernels", fname)
    for k, line in enumerate(open(path), 1):
        if re.search(pattern, line):
            return k
    raise ModelError("no line matching %r in %s" % (pattern, fname))


def limb_loop_trips(func, n):
    """Innermost runtime-limb loops. nvcc compiles `for (i = 0; i < n; ++i)` into a
    loop unrolled by 4 and one or two remainder loops (before or after it): in each
    run of adjacent innermost loops on the same source line, the largest is the
    unrolled loop (n // 4 trips), the first other one the remainder (n % 4), any
    further ones 0. The Montgomery reduction row (mp.h:111-113, j = 1..n-1) uses n - 1."""
    l_red = L("mp.h", r"q \* m\[j\] \+ c;", after=r"void mont_mul\(")
    inner = sorted((lp for lp in func.loops() if not lp.children), key=lambda lp: lp.head)
    groups, prev = [], None
    for lp in inner:
        dom = collections.Counter(i.chain[0] for i in lp.body if i.chain).most_common(1)
        dom = dom[0][0] if dom else None
        same_run = (prev is not None and dom is not None and prev[0] is not None and prev[0][0] == dom[0]
                    and abs(prev[0][1] - dom[1]) <= 3 and lp.head - prev[1] < 48)
        # a loop as large as the run's largest starts the next limb loop (several
        # set_zero / copy calls in a row on the same source line)
        if same_run and abs(len(lp) - max(len(x) for x in groups[-1])) > 0.2 * len(lp):
            groups[-1].append(lp)
        else:
            groups.append([lp])
        prev = (dom, lp.tail)
        lp.dom = dom
    trips = {}
    for grp in groups:
        dom = grp[0].dom
        cnt = n - 1 if dom and dom[0] == "mp.h" and abs(dom[1] - l_red) <= 1 else n
        main = max(grp, key=len)
        rest = [lp for lp in grp if lp is not main]
        trips[main.head] = float(cnt // 4)
        for k, lp in enumerate(rest):
            trips[lp.head] = float(cnt % 4) if k == 0 else 0.0
    return trips


def mont_mul_outer_line():
    path = os.path.join(ROOT, "kernels", "include", "gputls", "kernels", "mp.h")
    seen = False
    for k, line in enumerate(open(path), 1):
        seen = seen or "void mont_mul(" in line
        if seen and re.search(r"for \(int i = 0; i < n; \+\+i\) \{", line):
            return k
    raise ModelError("mont_mul's outer loop not found in mp.h")


def ec_cost(funcs, fname_part, n, op, memo, notes):
    key = (fname_part, n, op)
    if key in memo:
        return memo[key]
    func = next(f for name, f in funcs.items() if fname_part in name)
    limb = limb_loop_trips(func, n)
    windows4 = 32 * n // 4
    windows5 = -(-32 * n // 5)
    rules = {
        ("p256.h", src_line("p256.h", r"for \(int i = 2; i < kTableSize")): 14.0,
        ("p256.h", src_line("p256.h", r"for \(int w = windows - 1; w >= 0")): float(windows4),
        ("p256.h", src_line("p256.h", r"for \(int d = 0; d < kWindowBits")): 4.0 * (windows4 - 1) / windows4,
        ("p256.h", src_line("p256.h", r"for \(int i = 0; i < kTableSize; \+\+i\)")): 16.0,
        ("ec_fixed_base.h", src_line("ec_fixed_base.h", r"for \(int w = 0; w < windows")): float(windows4),
        ("ec_fixed_base.h", src_line("ec_fixed_base.h", r"for \(int j = 0; j < kCombEntries")): 15.0,
        ("modexp.h", src_line("modexp.h", r"for \(int i = 2; i < kTableSize")): 30.0,
        ("modexp.h", src_line("modexp.h", r"for \(int w = windows - 1")): float(windows5),
        ("modexp.h", src_line("modexp.h", r"for \(int i = 0; i < kTableSize")): 32.0,
    }
    mm_outer_line = mont_mul_outer_line()  # mp.h mont_mul: for (int i = 0; i < n; ++i) {
    # mp_fixed.h (fmul_n, mont_pow_n): compile-time limb loops, the exponent n limbs of 4-bit windows
    F = "mp_fixed.h"
    rules.update({
        (F, L(F, r"GT_ROLLED for \(int i = 0; i < N; \+\+i\) \{", after=r"GT_HD void mont_mul\(")): float(n),
        (F, L(F, r"GT_ROLLED for \(int i = 0; i < N; \+\+i\) redc_step")): float(n),
        (F, L(F, r"GT_ROLLED for \(int j = 0; j < N; \+\+j\) \{", after=r"GT_HD void table_select\(")): float(n),
        (F, L(F, r"GT_ROLLED for \(int e = 2; e < kTableEntries")): 14.0,
        (F, L(F, r"GT_ROLLED for \(int w = windows - 2; w >= 0")): float(8 * n - 1),
        (F, L(F, r"GT_ROLLED for \(int k = 0; k < kWindowBits")): 4.0,
    })
    unknown = []
    # invert_p_n's addition chain: each sqn_mul call is a squaring loop of n trips, n a
    # literal at the call. nvdisasm's inline chains do not name the call sites reliably,
    # so the chain's calls and their total squarings are read from its source (the
    # block for this curve), and each of its SASS loops (same body) gets the average.
    sqn_line = ("p256.h", L("p256.h", r"GT_ROLLED for \(int i = 0; i < n; \+\+i\) mpf::mont_sqr<N>"))
    sqn_loops = [lp for lp in func.loops() if func.ins[lp.tail].chain and func.ins[lp.tail].chain[0] == sqn_line]
    sqn_avg = 0.0
    if sqn_loops:
        src = "\n".join(_SRC["p256.h"])  # read by L above
        chain = src[src.index("GT_EC_FN void invert_p_n("):src.index("GT_HD void invert_p(")]
        common, rest = chain.split("if constexpr (N == 8) {")
        p256_part, p384_part = rest.split("} else {")
        calls = [int(x) for x in re.findall(r"sqn_mul<N>\(\w+,\s*(\d+),",
                                            common + (p256_part if n == 8 else p384_part))]
        calls = [x for x in calls if x > 1]  # a single squaring is straight code, no loop (weighted once)
        if len(sqn_loops) != len(calls):
            raise ModelError("invert_p_n<%d>: %d squaring loops in SASS, %d sqn_mul calls in the source"
                             % (n, len(sqn_loops), len(calls)))
        sqn_avg = sum(calls) / float(len(calls))
        notes.append("invert_p_n<%d>: %d squarings in %d sqn_mul loops (and single ones)" % (n, sum(calls), len(calls)))

    def trip_of(lp):
        tail = func.ins[lp.tail].chain[0] if func.ins[lp.tail].chain else None
        if tail == sqn_line:
            return sqn_avg
        if tail in rules:
            return rules[tail]
        if lp.head in limb:
            return limb[lp.head]
        if tail == ("mp.h", mm_outer_line):
            return float(n)
        unknown.append((tail, len(lp)))
        return 1.0

    E = "ec_ops.h"
    after = r"GT_EC_FN uint32_t ec_op\("
    verify = (L(E, r"if \(op == kEcVerify\) \{", after=after), L(E, r"kEcBadSignature, kEcBadPoint\)\);", after=after))
    derive_mul = (L(E, r"if \(op == kEcDerive\) \{", after=after) + 1, L(E, r"scalar_mul\(res, base, k, c\);", after=after))
    gen_mul = (L(E, r"generator_mul\(res, k, c, g_table\);", after=after),) * 2
    kd_ret = (L(E, r"if \(op == kEcKeygen \|\| op == kEcDerive\) \{", after=after),
              L(E, r"kEcBadPoint\), kEcBadScalar\);", after=after))
    sign = (L(E, r"// Sign: r = x mod n", after=after), L(E, r"kEcRetry\), kEcBadScalar\);", after=after))
    other_ops = {"sign": [verify, derive_mul, kd_ret], "derive": [verify, gen_mul, sign]}[op]
    excl = lambda i: any(f == "ec_ops.h" and any(a <= l <= b for a, b in other_ops) for f, l in i.chain)
    # fadd / fsub dispatch on the curve inline: the other curve's body is never run
    other_n = 12 if n == 8 else 8
    other_inline = {L("p256.h", r"faddsub_n<%d, %s>\(r, a, b, c\);" % (other_n, sub)) for sub in ("false", "true")}
    # (CALLs carry stale line info; they are filtered by the callee's name below)
    not_this_curve = lambda i: not i.op.startswith("CALL") and any(f == "p256.h" and l in other_inline
                                                                   for f, l in i.chain)
    w = weights(func, trip_of, (lambda i: excl(i) or not_this_curve(i)) if "ec5ec_op" in func.name
                else not_this_curve)
    mix = weighted_mix(func, w)
    short = re.match(r"_ZN6gputls7kernels2ec\d+(\w+?)E", func.name)
    if short:
        mix["#" + re.sub(r"_nILi\d+$", "", short.group(1))] += 1  # call counter, composed with the costs
    if "ec5ec_op" in func.name:
        # ec_op's CALLs carry stale line info (nvdisasm repeats the last line), so the
        # op's callees come from ec_ops.h itself: sign = generator_mul (fixed_base_mul:
        # the launcher always passes the table) + to_affine + mont_pow (k^-1);
        # derive = decode_point + scalar_mul + to_affine.
        calls = {"sign": ["fixed_base_mul", "to_affine", "mont_pow"],
                 "derive": ["decode_point", "scalar_mul", "to_affine"]}[op]
        for part in calls:
            callee = next(nm for nm in funcs if re.search(r"ec\d+" + part + "E", nm) or
                          re.search(r"ec\d+" + part + r"_nILi%dE" % n, nm))
            mix = addc(mix, ec_cost(funcs, callee, n, op, memo, notes))
        memo[key] = mix
        return mix
    # scalar_mul's table loop (i = 2..15) calls point_add for odd i and point_dbl for
    # even i: each CALL in it runs on half of its 14 trips.
    alt_line = ("p256.h", src_line("p256.h", r"for \(int i = 2; i < kTableSize"))
    alt = [lp for lp in func.loops() if func.ins[lp.tail].chain and func.ins[lp.tail].chain[0] == alt_line]
    for i, x in zip(func.ins, w):
        if x and i.op.startswith("CALL"):
            m = re.search(r"\$(_Z\w+)\)", i.text)
            callee = m.group(1) if m else None
            if any(lp.head <= i.idx <= lp.tail for lp in alt):
                x *= 0.5
            nm_ = re.search(r"_nILi(\d+)E", callee or "")
            if nm_ and int(nm_.group(1)) != n:
                continue  # the other curve's instantiation, behind a branch on the curve
            if callee and callee in funcs:
                mix = addc(mix, scaled(ec_cost(funcs, callee, n, op, memo, notes), x))
    if unknown:
        notes.append("%s: loops without a trip rule counted once: %s" % (fname_part[-30:], unknown[:6]))
    memo[key] = mix
    return mix


def model_ec(funcs, curve, op):
    n = {"p256": 8, "p384": 12}[curve]
    memo, notes = {}, []
    entry = next(name for name in funcs if "ec_batch_kernel" in name)
    mix = ec_cost(funcs, entry, n, op, memo, notes)
    fmul = next(name for name in funcs if "ec6fmul_nILi%dE" % n in name)
    pa = next(name for name in funcs if "point_add_nILi%dE" % n in name)
    pd = next(name for name in funcs if "point_dbl_nILi%dE" % n in name)
    mp_ = next(name for name in funcs if "mont_pow_nILi%dE" % n in name)
    per = {k: round(total(memo[(nm, n, op)])) for k, nm in
           (("fmul", fmul), ("point_add", pa), ("point_dbl", pd), ("mont_pow", mp_)) if (nm, n, op) in memo}
    method = ("SASS of ec_batch_kernel and its __noinline__ callees (fmul_n<%d>, point_add_n / point_dbl_n (every "
              "field operation inline on register operands), scalar_mul, "
              "fixed_base_mul, mont_pow_n<%d>, to_affine, decode_point, ec_op): each function's instructions weighted "
              "by its loops' trip counts (windows %d (4-bit) for scalar_mul / fixed_base_mul, 16-entry scans; "
              "mont_pow_n: mp_fixed.h mont_exp, %d 4-bit windows and 14 table multiplies, limb loops %d; "
              "runtime-limb loops (fadd, fsub, copies) %d limbs: main loop unrolled x4 = n/4 trips, remainders "
              "n%%4), CALLs adding the callee's cost (the other curve's fmul_n / mont_pow_n instantiation, behind a "
              "branch on the curve, excluded); the other ops' code in ec_op excluded. Dynamic instructions per "
              "call: %s. %s"
              % (n, n, 32 * n // 4, 8 * n, n, n, per, " ".join(notes)))
    local = mix["ldl"] + mix["stl"] + mix["ld_st_other"]
    mem = {"pattern": "points, the variable-base window table and the inversion's operands in stack arrays "
                      "(local memory; the point formulas read their points once and write the result once, "
                      "operands in registers between): LDL/STL "
                      "interleaved per thread (4 B per thread access, coalesced); the frame of every resident "
                      "thread exceeds L1, so all local traffic is counted at L2 (pessimistic); curve constants and "
                      "the fixed-base table are read at the same addresses by every thread of a warp (one sector "
                      "per warp instruction)",
           "l2_bytes_per_op": local * 4 + (mix["ldg"] + mix["stg"]) * SECTOR / 32.0,
           "hbm_bytes_per_op": 0}
    calls = {k[1:]: round(v, 2) for k, v in mix.items() if k.startswith("#")}
    return mix, mem, method, {"dynamic_per_call": per, "calls_per_op_from_sass_model": calls}


# ---- AES-128-GCM, 16 KiB records (TLS 1.3: 5-byte AAD) -------------------------
def model_aes_gcm(funcs, record_bytes=16384, aad_bytes=5):
    p1 = next(f for n, f in funcs.items() if "aes_gcm_pass1_kernel" in n)
    p2 = next(f for n, f in funcs.items() if "aes_gcm_pass2_kernel" in n)
    src = open(os.path.join(ROOT, "kernels", "include", "gputls", "kernels", "aes_gcm.h")).read()
    P = int(re.search(r"kGcmChunkBlocks\s*=\s*(\d+)", src).group(1))
    a, c = -(-aad_bytes // 16), -(-record_bytes // 16)
    nblk = a + c + 1
    items = -(-nblk // P)
    rounds = 10  # AES-128
    g_loop_line = src_line("aes_gcm.h", r"for \(uint32_t g = g_lo; g <= g_hi;\)")
    rec_lo = src_line("aes_gcm.h", r"GT_HD uint32_t record_of")
    byte_loop = src_line("aes_gcm.h", r"for \(; t < hi; \+\+t\) R\.out\[t\]")
    word_loop = src_line("aes_gcm.h", r"for \(; t \+ 16 <= hi; t \+= 16\)")
    load_bytes_loop = src_line("aes_gcm.h", r"for \(uint32_t t = 0; t < m; \+\+t\) w\[t / 4\] \|=")
    pad_loop = src_line("aes_gcm.h", r"for \(uint32_t t = m; t < 16; \+\+t\) o\[t / 4\] &=")
    store16_loop = src_line("aes_gcm.h", r"for \(uint32_t t = 0; t < m; \+\+t\) dst\[t\] = static_cast")
    side = (src_line("aes_gcm.h", r"if \(g < a\) \{"), src_line("aes_gcm.h", r"// Ciphertext blocks i and"))
    j0_lo = src_line("aes_gcm.h", r"if \(k == 0\) \{  // the tag's mask")
    group_line = src_line("aes_bitsliced.h", r"for \(; round \+ 4 <= nr; round \+= 4\)")
    notes = []

    def trips(func, per_item_bytes):
        limb = {}
        def trip_of(lp):
            tail = func.ins[lp.tail].chain[0] if func.ins[lp.tail].chain else None
            fr = lp.frames()
            if tail and tail[0] == "aes_gcm.h" and rec_lo <= tail[1] <= rec_lo + 10:
                return 10.0  # record_of: binary search over chunk_start, log2(1024 records)
            if tail == ("aes_gcm.h", g_loop_line):
                return P / 2.0  # two CTR blocks per AES call
            if any(f == "aes_bitsliced.h" for f, _ in fr) and lp.share(in_file("aes_bitsliced.h")) > 0.8:
                # encrypt_planes' loop over groups of four fixsliced rounds: rounds 1 .. nr-2
                group = (rounds - 2) // 4 if any(f == "aes_bitsliced.h" and l == group_line for f, l in fr) else rounds
                if any(f == "aes_gcm.h" and j0_lo <= l <= j0_lo + 6 for f, l in fr):
                    return group / float(items)  # E_K(J0): item k == 0 only
                return float(group)
            if tail in (("aes_gcm.h", store16_loop), ("aes_gcm.h", load_bytes_loop), ("aes_gcm.h", pad_loop)):
                return 0.0  # byte paths of a partial or unaligned block: none in a 16 KiB record
            if tail in (("aes_gcm.h", byte_loop), ("aes_gcm.h", word_loop)):
                return 0.0  # the masking loops: a servable seal returns before them (aes_gcm.h pass 2)
            notes.append((tail, len(lp)))
            return 1.0
        return trip_of

    excl1 = lambda i: any(f == "aes_gcm.h" and side[0] <= l < side[1] for f, l in i.chain)
    w1 = weights(p1, trips(p1, P * 16), excl1)
    w2 = weights(p2, trips(p2, P * 16))
    per_item = addc(weighted_mix(p1, w1), weighted_mix(p2, w2))
    mix = scaled(per_item, items)
    # Sectors: record data (load_words/store_words in pass 1, the byte loop's 1-byte accesses in
    # pass 2) is per thread, threads P*16 B apart: one 32 B sector per thread access.
    # Keys, H powers, the record table, chunk_start: the same for the threads of a warp
    # (129 items per record): one sector per warp instruction. Atomics: per thread.
    data_lo = src_line("aes_gcm.h", r"GT_HD void load_words")
    data_hi = src_line("aes_gcm.h", r"GT_HD gf128::Elem load_block")
    sectors = 0.0
    for func, w in ((p1, w1), (p2, w2)):
        for i, x in zip(func.ins, w):
            cls = classify(i.op)
            if not x or cls not in ("ldg", "stg", "atom"):
                continue
            f, l = i.chain[0] if i.chain else ("", 0)
            per_thread = cls == "atom" or (f == "aes_gcm.h" and (data_lo <= l < data_hi or
                                           (l == byte_loop and ".U8" in i.op)))
            sectors += x * (1.0 if per_thread else 1.0 / 32)
    method = ("SASS of aes_gcm_pass1_kernel + aes_gcm_pass2_kernel per work item, x %d items per 16 KiB record "
              "(N = %d AAD + %d data + 1 length blocks, P = %d blocks per item, aes_gcm.h): pass 1 g loop x P/2 "
              "(two-block AES calls), AES rounds in fixsliced groups of four (loop x (%d - 2) / 4, then two rounds straight), E_K(J0) once per record, record_of search x 10 "
              "(1024-record batch), AAD/length-block branches excluded, the byte loops for partial or unaligned blocks not run (whole 16-byte aligned blocks); pass 2's masking byte loop (%d bytes per item) not run "
              "for a seal.%s"
              % (items, a, c, P, rounds, P * 16, (" Loops without a rule counted once: %s" % notes[:6]) if notes else ""))
    mem = {"pattern": "pass 1: 16 B plaintext loads / ciphertext stores, threads %d B apart (one 32 B sector per "
                      "thread access); pass 2: the tag and status only for a seal (its output needs no masking); "
                      "accumulator atomics" % (P * 16),
           "l2_bytes_per_op": sectors * items * SECTOR,
           "hbm_bytes_per_op": 2 * record_bytes}
    return mix, mem, method, {"items_per_record": items, "per_item_instructions": round(total(per_item))}


# ---- Counted code (ML-KEM-768): every call and loop trip from the host twin ------
# mlkem.h / keccak.h mark every loop GT_TRIP(u) (on the line of its `for`, unrolled
# by exactly u on the device) and every out-of-line function GT_CALLED; the counting
# build (scripts/gpu_model_count.cc) runs one operation of the batch body and counts
# them. Each SASS instruction then executes (calls of its function) times, or
# (trips of its innermost loop / u) inside a loop: no per-loop rule. Code under a
# non-loop branch (an early return, `if (pos == rate)`) is counted as if it always
# ran: an upper bound on the work.
HOST_COUNTS = {}  # bench -> counts, filled by main() before the models run
COUNTED_FILES = ("mlkem.h", "keccak.h", "mlkem_batch.h")


def trip_markers():
    """(file, line) -> (unroll, per template argument) of every GT_TRIP / GT_TRIP_OF."""
    out = {}
    for fname in COUNTED_FILES:
        path = os.path.join(ROOT, "kernels", "include", "gputls", "kernels", fname)
        for k, line in enumerate(open(path), 1):
            m = re.search(r"GT_TRIP(_OF)?\((\d+)", line)
            if m:
                out[(fname, k)] = (int(m.group(2)), bool(m.group(1)))
    return out


def counted_name(mangled):
    """('mlkem::ntt', 0) / ('mlkem::byte_encode', 12) / ('keccak::Sponge::absorb', 0) from
    a mangled name: its nested-name segments after gputls::kernels (detail dropped) and
    its first integer template argument."""
    s, segs = mangled[3:] if mangled.startswith("_ZN") else "", []
    while s and s[0].isdigit():
        n = int(re.match(r"\d+", s).group(0))
        d = len(str(n))
        segs.append(s[d:d + n])
        s = s[d + n:]
    m = re.match(r"IL[a-z](\d+)E", s)
    return "::".join(x for x in segs if x not in ("gputls", "kernels", "detail")), int(m.group(1)) if m else 0


def counted_weights(f, counts, marks, is_entry):
    """Executions per op of each instruction of f (see above), and its loops that carry
    no marker (which the caller reports: the model cannot weight them)."""
    key, arg = counted_name(f.name)
    calls = 1.0 if is_entry else counts.get("%s/%d" % (key, arg), 0.0)
    loops = f.loops()
    mark_of = {}  # loop head -> its marker: the line its back edge carries, else the one
    for lp in loops:  # marked line among its own (not nested loops') instructions
        tail = f.ins[lp.tail].chain[0] if f.ins[lp.tail].chain else None
        if tail in marks:
            mark_of[lp.head] = tail
    unmarked = []
    for lp in loops:
        if lp.head in mark_of:
            continue
        own = [i for i in lp.body if not any(ch.head <= i.idx <= ch.tail for ch in lp.children)]
        cand = {fr for i in own for fr in i.chain if fr in marks and fr not in mark_of.values()}
        if len(cand) != 1:
            unmarked.append("%s: loop of %d instructions (%s)" % (key, len(lp), sorted(cand) or "no marker"))
            continue
        mark_of[lp.head] = cand.pop()
    if len(set(mark_of.values())) != len(mark_of):
        raise ModelError("%s: two SASS loops carry one marker (a counted loop inlined twice)" % key)
    trips = {}
    for lp in loops:
        if lp.head in mark_of:
            (fname, line), (u, per_arg) = mark_of[lp.head], marks[mark_of[lp.head]]
            trips[lp.head] = counts.get("trip:%s:%d/%d" % (fname, line, u) + ("@%d" % arg if per_arg else ""),
                                        0.0) / u
    w = []
    for i in f.ins:
        inner = [lp for lp in loops if lp.head <= i.idx <= lp.tail]
        w.append(trips.get(min(inner, key=len).head, calls) if inner else calls)
    return key + ("<%d>" % arg if arg else ""), w, unmarked


TABLE_READ = re.compile(r"\bt\.(zetas|gammas)\[|\bkRoundConstants\[")


def src_text(fname, line):
    """The text of a source line of kernels/include/gputls/kernels/<fname> ('' if none)."""
    if fname not in _SRC:
        path = os.path.join(ROOT, "kernels", "include", "gputls", "kernels", fname)
        _SRC[fname] = open(path).read().splitlines() if os.path.exists(path) else []
    lines = _SRC[fname]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def access_bytes(op):
    """Bytes a thread access moves in local memory, which interleaves 4-byte words per
    thread: narrower accesses cost 4 B, .64 8 B, .128 16 B."""
    return 16 if ".128" in op else 8 if ".64" in op else 4


def model_counted(funcs, bench, entry_part, stack_bytes=None):
    counts = HOST_COUNTS.get(bench)
    if not counts:
        raise ModelError("no host-twin counts for %s (the counting build is needed for counted code)" % bench)
    marks = trip_markers()
    mix, per_fn, unmarked, static = collections.Counter(), {}, [], 0
    local_b = table_b = request_b = 0.0
    for name, f in funcs.items():
        label, w, um = counted_weights(f, counts, marks, entry_part in name)
        unmarked += um
        fmix = weighted_mix(f, w)
        static += len(f.ins)
        for i, x in zip(f.ins, w):
            cls = classify(i.op)
            if cls in ("ldl", "stl"):
                local_b += x * access_bytes(i.op)
            elif cls in ("ldg", "stg", "ld_st_other") and x:
                if i.chain and TABLE_READ.search(src_text(*i.chain[0])):
                    table_b += x * SECTOR / 32.0
                else:
                    request_b += x * SECTOR
        if total(fmix):
            per_fn[label] = round(total(fmix))
        mix = addc(mix, fmix)
    if unmarked:
        raise ModelError("loops without a GT_TRIP marker: %s" % "; ".join(unmarked[:5]))
    method = ("counted code: SASS of every function of the cubin (%d static instructions), each instruction weighted "
              "by its function's calls or its innermost loop's trips / unroll, both counted in the host twin (same "
              "source, GT_CALLED / GT_TRIP, averaged over %d keys); code under non-loop branches counted as always "
              "run (an upper bound). Dynamic instructions per function: %s"
              % (static, int(counts.get("keys_averaged/0", 1)),
                 dict(sorted(per_fn.items(), key=lambda kv: -kv[1])[:12])))
    mem = {"pattern": "polynomials, sponge states and buffers in the thread's stack (local memory): LDL/STL "
                      "interleaved per thread, 4 B per access (8 / 16 B for .64 / .128); every resident thread's "
                      "frame exceeds L1, so all local traffic is counted at L2 (pessimistic). The zeta / gamma "
                      "tables (loads on source lines reading t.zetas / t.gammas) and Keccak's round constants (kRoundConstants) are read at the same address by "
                      "every thread of a warp: one 32 B sector per warp access. Other global and generic LD/ST "
                      "(request bytes, or stack buffers behind a pointer) a word per thread access, requests "
                      "1-3 KB apart: one 32 B sector per thread access at L2, no L1 reuse counted (pessimistic "
                      "for reads)",
           "l2_bytes_per_op": local_b + table_b + request_b,
           "local_bytes_per_op": local_b, "table_sector_bytes_per_op": table_b,
           "request_sector_bytes_per_op": request_b,
           "hbm_bytes_per_op": 0}
    calls = {k: v for k, v in counts.items() if not k.startswith("trip:")}
    return mix, mem, method, {"dynamic_per_function": per_fn, "host_counted_calls": calls}


# ---------------------------------------------------------------------------
# 4b. Exact primitive counts from the host twins (GT_COUNT counting build)
# ---------------------------------------------------------------------------
def host_counts(build_dir):
    """Compile scripts/gpu_model_count.cc against the real headers with
    -DGPUTLS_MODEL_COUNT and run it: exact calls of the marked primitives per operation."""
    exe = os.path.join(build_dir, "gpu_model_count")
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not cxx:
        return None, "no C++ compiler (g++) for the counting build"
    cmd = [cxx, "-std=c++20", "-O1", "-DGPUTLS_MODEL_COUNT", "-I", os.path.join(ROOT, "kernels", "include"),
           "-I", os.path.join(ROOT, "kernels", "tests"), "-o", exe, os.path.join(ROOT, "scripts", "gpu_model_count.cc"),
           os.path.join(ROOT, "kernels", "src", "key_blob.cc"), "-lcrypto"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, "counting build failed (needs g++ and libssl-dev): " + p.stderr[-400:]
    p = subprocess.run([exe], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None, "counting run failed: " + (p.stderr or p.stdout)[-400:]
    return json.loads(p.stdout), None


def count_check(bench, detail, counts):
    """Compare the trip counts the SASS model derived from the code with the host
    twin's exact counts. Returns (status, text)."""
    if counts is None or detail is None:
        return None, None
    def agree(a, b):
        return abs(a - b) <= 0.01 * max(abs(b), 1)
    checks = []
    if bench.startswith("rsa"):
        for k, v in detail["calls_per_op"].items():
            checks.append((k, v, counts.get(k, 0)))
    elif bench.startswith("p256") or bench.startswith("p384"):
        n = 8 if bench.startswith("p256") else 12
        calls = detail.get("calls_per_op_from_sass_model", {})
        for short, key in (("4fmul", "ec::fmul"), ("9point_add", "ec::point_add"), ("9point_dbl", "ec::point_dbl"),
                           ("8mont_pow", "mpf::mont_exp"), ("8invert_p", "ec::invert_p")):
            name = short.lstrip("0123456789")
            model = next((v for k, v in calls.items() if k.endswith(name)), 0)
            checks.append((name, model, counts.get("%s/%d" % (key, n), 0)))
    elif bench == "x25519_derive":
        steps = (counts.get("fe25519::mul/10", 0) - 12) / 5.0  # 5 mul per ladder step, 11 in invert, 1 in finish
        checks.append(("ladder steps (from fe25519::mul)", 255, steps))
    elif bench.startswith("aes"):
        items = detail["items_per_record"]
        checks.append(("work items", items, counts.get("work_items/0", 0)))
        checks.append(("aes::encrypt2 per record", items * 4 + 1, counts.get("aes::encrypt2/10", 0)))
    if not checks:
        return None, None
    ok = all(agree(m, h) for _, m, h in checks)
    text = "; ".join("%s: model %s, host twin %s" % (nm, rnd(float(m), 6), rnd(float(h), 6)) for nm, m, h in checks)
    return ("agree" if ok else "DISAGREE"), text


# ---------------------------------------------------------------------------
# 5. Driver
# ---------------------------------------------------------------------------
TARGETS = {  # issues 19 and 20 (ops/s; AES in records/s, 190 GB/s of 16 KiB records)
    "rsa2048_priv": 1_000_000, "rsa4096_priv": 100_000, "p256_ecdsa_sign": 10_000_000,
    "p256_ecdh_derive": 5_000_000, "x25519_derive": 15_000_000, "aes128gcm_seal_16384": 190e9 / 16384,
    "mlkem768_encaps": 10_000_000,  # issue 23
}

# benchmark name -> (cu file, __global__ name fragment, model)
KERNELS = [
    ("rsa2048_priv", "rsa_batch.cu", "rsa_crt_fixed_kernelILi32E", lambda f: model_rsa(f, 2048)),
    ("rsa4096_priv", "rsa_batch.cu", "rsa_crt_fixed_kernelILi64E", lambda f: model_rsa(f, 4096)),
    ("x25519_derive", "x25519_batch.cu", "x25519_batch_kernel", lambda f: model_x25519(f, "derive")),
    ("x25519_keygen", "x25519_batch.cu", "x25519_batch_kernel", lambda f: model_x25519(f, "keygen")),
    ("p256_ecdsa_sign", "ec_batch.cu", "ec_batch_kernel", lambda f: model_ec(f, "p256", "sign")),
    ("p256_ecdh_derive", "ec_batch.cu", "ec_batch_kernel", lambda f: model_ec(f, "p256", "derive")),
    ("p384_ecdsa_sign", "ec_batch.cu", "ec_batch_kernel", lambda f: model_ec(f, "p384", "sign")),
    ("p384_ecdh_derive", "ec_batch.cu", "ec_batch_kernel", lambda f: model_ec(f, "p384", "derive")),
    ("aes128gcm_seal_16384", "aes_gcm_batch.cu", "aes_gcm_pass1_kernel", lambda f: model_aes_gcm(f)),
    ("mlkem768_encaps", "mlkem_batch.cu", "mlkem_batch_kernel",
     lambda f: model_counted(f, "mlkem768_encaps", "mlkem_batch_kernel")),
    ("mlkem768_decaps", "mlkem_batch.cu", "mlkem_batch_kernel",
     lambda f: model_counted(f, "mlkem768_decaps", "mlkem_batch_kernel")),
    ("mlkem768_keygen", "mlkem_batch.cu", "mlkem_batch_kernel",
     lambda f: model_counted(f, "mlkem768_keygen", "mlkem_batch_kernel")),
]


# Other builds of a kernel, modelled beside the one the launcher uses and kept
# in its JSON row ("variants"): (benchmark, cu file, extra nvcc flags, tag, what).
VARIANTS = [
    ("rsa2048_priv", "rsa_batch.cu", ["-DGPUTLS_RSA2048_MIN_BLOCKS=6"], "min_blocks_6",
     "__launch_bounds__ min blocks 6: registers capped at 168 for 12 warps per SM, spills in the window loop"),
    ("p256_ecdsa_sign", "ec_batch.cu", ["-DGPUTLS_EC_MIN_BLOCKS=3"], "min_blocks_3",
     "__launch_bounds__ min blocks 3: registers capped at 168 for 12 warps per SM (255 unbounded), spills"),
    ("p256_ecdh_derive", "ec_batch.cu", ["-DGPUTLS_EC_MIN_BLOCKS=3"], "min_blocks_3",
     "__launch_bounds__ min blocks 3: registers capped at 168 for 12 warps per SM (255 unbounded), spills"),
    ("x25519_derive", "x25519_batch.cu", ["-DGPUTLS_X25519_MIN_BLOCKS=4"], "min_blocks_4",
     "__launch_bounds__ min blocks 4: registers capped at 128 for 16 warps per SM (issue 20: occupancy), spills"),
]


def variant_row(bench, v_ptx, gname, block, dyn_v, gpu):
    """ptxas figures, occupancy and bounds of a variant build, for one GPU."""
    entry = next((n for n, d in v_ptx.items() if d.get("entry") and gname in n), None)
    r = v_ptx.get(entry, {})
    occ = occupancy(r.get("regs", 0), block, r.get("smem_bytes", 0)) if r else None
    mix, mem, method, detail, why = dyn_v
    row = {"regs": r.get("regs"), "stack_bytes": r.get("stack_bytes"),
           "spill_bytes": (r.get("spill_store_bytes", 0) + r.get("spill_load_bytes", 0)) if r else None,
           "occupancy": occ["occupancy"] if occ else None}
    if occ:
        row["requests_in_flight"] = occ["threads_per_sm"] * gpu["sms"] // (detail or {}).get("threads_per_op", 1)
    if mix is None:
        row["null_reason"] = why
        return row
    ws = mem.get("working_set_bytes_per_request")
    if mem.get("scratch_bytes_per_op") and ws and row.get("requests_in_flight"):
        miss = max(0.0, 1.0 - gpu["l2_mb"] * 1e6 / (ws * row["requests_in_flight"]))
        mem = dict(mem, hbm_bytes_per_op=mem["hbm_bytes_per_op"] + miss * mem["scratch_bytes_per_op"])
    issue, pipe, cyc, memory, level, mb = bounds(mix, mem, gpu)
    row.update({"predicted_ops_per_sec": rnd(min(x for x in (issue, memory) if x is not None)),
                "issue_bound": rnd(issue), "issue_limiting_pipe": pipe, "memory_bound": rnd(memory),
                "memory_level": level, "sass_instructions_per_op": round(total(mix)),
                "sass_mix_per_op": {k: round(mix[k]) for k in CLASSES if mix[k]}})
    return row


def rnd(x, k=4):
    if x is None:
        return None
    if isinstance(x, float):
        return float("%.*g" % (k, x))
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "gpu-model"))
    ap.add_argument("--tools-dir", default=os.path.join(ROOT, "build", "gpu-model-tools"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--nvcc", default=shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc")
    ap.add_argument("--no-sass", action="store_true", help="skip nvdisasm (ptxas-only model)")
    args = ap.parse_args()
    t0 = time.time()
    if not os.access(args.nvcc, os.X_OK):
        log("ERROR: nvcc not found (PATH or /usr/local/cuda/bin): the model cannot be computed")
        return 2
    os.makedirs(args.build_dir, exist_ok=True)
    os.makedirs(args.tools_dir, exist_ok=True)
    nvv = subprocess.run([args.nvcc, "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1]

    # 1. compile + ptxas
    ptx, cubins, cmds, blocks = {}, {}, {}, {}
    for cu in KERNEL_FILES:
        try:
            cubin, text, cmd = compile_cubin(args.nvcc, cu, args.build_dir)
        except RuntimeError as e:
            log("ERROR: %s" % e)
            return 3
        cubins[cu], ptx[cu], cmds[cu] = cubin, parse_ptxas(text), cmd
        blocks[cu] = block_size_of(os.path.join(ROOT, "kernels", "src", cu))
        log("compiled %s (%.1f s so far)" % (cu, time.time() - t0))

    # 2. SASS
    nvdisasm, sass_reason = (None, "--no-sass given") if args.no_sass else get_tools(args.tools_dir)
    sass = {}
    if nvdisasm:
        for cu, cubin in cubins.items():
            try:
                sass[cu] = disassemble(nvdisasm, cubin)
            except RuntimeError as e:
                sass_reason = str(e)
                sass = {}
                break
    if not sass:
        log("WARNING: no SASS (%s): SASS-based fields are null; ptxas-based fields still computed" % sass_reason)

    # per-__global__ static SASS mix (the function and every function in its cubin it may call)
    static_mix = {}
    for cu, funcs in sass.items():
        for name, f in funcs.items():
            static_mix.setdefault(cu, collections.Counter())
            static_mix[cu] = addc(static_mix[cu], mix_of(f.ins))

    # 3b (first: the counted-code models need them). exact counts from the host twins
    counts, counts_reason = host_counts(args.build_dir)
    if counts is None:
        log("WARNING: no host-twin counts (%s)" % counts_reason)
    else:
        HOST_COUNTS.update(counts)
        log("host-twin counts done (%.1f s so far)" % (time.time() - t0))

    # 3. per-op dynamic models (GPU-independent)
    dyn = {}
    for bench, cu, gname, fn in KERNELS:
        if cu not in sass:
            dyn[bench] = (None, None, None, None, "no SASS: " + str(sass_reason))
            continue
        try:
            mix, mem, method, detail = fn(sass[cu])
            dyn[bench] = (mix, mem, method, detail, None)
        except (ModelError, StopIteration, ValueError) as e:
            dyn[bench] = (None, None, None, None, "model failed: %s" % e)
            log("WARNING: %s: %s" % (bench, e))

    # 3a. variant builds (same models, other compile flags)
    variants = {}
    for bench, cu, extra, tag, what in VARIANTS:
        gname, fn = next((g, f) for b, c, g, f in KERNELS if b == bench)
        try:
            cubin, text, _ = compile_cubin(args.nvcc, cu, args.build_dir, extra, "." + tag)
        except RuntimeError as e:
            log("ERROR: variant %s: %s" % (tag, e))
            return 3
        v = {"tag": tag, "what": what, "nvcc_extra_flags": extra, "ptx": parse_ptxas(text), "block": blocks[cu]}
        v["dyn"] = (None, None, None, None, "no SASS: " + str(sass_reason))
        if nvdisasm and sass:
            try:
                mix, mem, method, detail = fn(disassemble(nvdisasm, cubin))
                v["dyn"] = (mix, mem, method, detail, None)
            except (ModelError, StopIteration, ValueError, RuntimeError) as e:
                v["dyn"] = (None, None, None, None, "model failed: %s" % e)
        variants.setdefault(bench, []).append((gname, v))
        log("modelled variant %s of %s (%.1f s so far)" % (tag, bench, time.time() - t0))

    # engine defaults (engine/include/gputls/engine/config.h): can one queue fill the GPU?
    engine_cfg = {}
    try:
        cfg = open(os.path.join(ROOT, "engine", "include", "gputls", "engine", "config.h")).read()
        for key in ("batch_size", "gpu_batch_size", "queue_capacity", "deadline_us"):
            m = re.search(r"uint32_t\s+%s\s*=\s*(\d+);" % key, cfg)
            if m:
                engine_cfg[key] = int(m.group(1))
        cb = open(os.path.join(ROOT, "engine", "include", "gputls", "engine", "cuda_backend.h")).read()
        m = re.search(r"uint32_t\s+streams\s*=\s*(\d+);", cb)
        if m:
            engine_cfg["cuda_streams"] = int(m.group(1))
        if "queue_capacity" not in engine_cfg:
            engine_cfg = {}
    except OSError:
        pass

    # 4. per-GPU JSON
    summary = []
    for gkey, gpu in GPUS.items():
        rows = []
        for bench, cu, gname, fn in KERNELS:
            entry_name = next((n for n, v in ptx[cu].items() if v.get("entry") and gname in n), None)
            r = ptx[cu].get(entry_name, {})
            occ = occupancy(r.get("regs", 0), blocks[cu], r.get("smem_bytes", 0)) if r else None
            callees = {n.split("kernels")[-1][:60]: {k: v for k, v in d.items() if k != "entry"}
                       for n, d in ptx[cu].items() if not d.get("entry")}
            mix, mem, method, detail, why = dyn[bench]
            items = 1
            if bench.startswith("aes"):
                items = 1  # mix and memory are already per record
            row = {"name": bench, "prediction": True, "units": "records/s" if bench.startswith("aes") else "ops/s",
                   "kernel": gname, "source": "kernels/src/" + cu, "block_size": blocks[cu],
                   "regs": r.get("regs"), "stack_bytes": r.get("stack_bytes"),
                   "cumulative_stack_bytes": r.get("cumulative_stack_bytes"),
                   "spill_bytes": (r.get("spill_store_bytes", 0) + r.get("spill_load_bytes", 0)) if r else None,
                   "spill_store_bytes": r.get("spill_store_bytes"), "spill_load_bytes": r.get("spill_load_bytes"),
                   "smem_bytes": r.get("smem_bytes"),
                   "occupancy": occ["occupancy"] if occ else None, "occupancy_detail": occ,
                   "requests_in_flight": None,
                   "noinline_callees_ptxas": callees or None}
            if bench.startswith("aes"):
                p2 = next((v for n, v in ptx[cu].items() if "pass2" in n), {})
                row["pass2_regs"] = p2.get("regs")
                row["pass2_stack_bytes"] = p2.get("stack_bytes")
                row["pass2_occupancy"] = occupancy(p2["regs"], blocks[cu])["occupancy"] if p2 else None
            if occ:
                threads = occ["threads_per_sm"] * gpu["sms"]
                per_op = (detail or {}).get("items_per_record" if bench.startswith("aes") else "threads_per_op", 1)
                row["requests_in_flight"] = threads // per_op
                row["requests_in_flight_note"] = ("resident threads / %d thread(s) per request at this occupancy on "
                                                  "all SMs" % per_op if not bench.startswith("aes") else
                                                  "records whose work items are all resident at once "
                                                  "(threads / items per record)")
            if row["requests_in_flight"] and engine_cfg:
                row["engine_defaults"] = engine_cfg
                row["engine_queue_covers_fraction_of_resident_requests"] = rnd(
                    min(1.0, engine_cfg["queue_capacity"] / row["requests_in_flight"]), 3)
                if "gpu_batch_size" in engine_cfg and "cuda_streams" in engine_cfg:
                    # batches on the device at once: one per stream, each at most a full GPU batch
                    on_device = engine_cfg["cuda_streams"] * min(engine_cfg["gpu_batch_size"],
                                                                 engine_cfg["queue_capacity"])
                    row["engine_max_requests_on_device"] = on_device
                    row["engine_fills_fraction_of_resident_requests"] = rnd(
                        min(1.0, on_device / row["requests_in_flight"]), 3)
            if mix is None:
                row.update({"predicted_ops_per_sec": None, "issue_bound": None, "memory_bound": None,
                            "null_reason": why})
            else:
                ws = mem.get("working_set_bytes_per_request")
                if mem.get("scratch_bytes_per_op") and ws and row["requests_in_flight"]:
                    # scratch that does not fit in L2 with every resident request's: that share
                    # of its traffic is taken to miss L2 and go to HBM (uniform reuse assumed)
                    miss = max(0.0, 1.0 - gpu["l2_mb"] * 1e6 / (ws * row["requests_in_flight"]))
                    mem = dict(mem, hbm_bytes_per_op=mem["hbm_bytes_per_op"] + miss * mem["scratch_bytes_per_op"],
                               scratch_l2_miss_fraction_bytes_per_op=round(miss, 3))
                issue, pipe, cyc, memory, level, mb = bounds(mix, mem, gpu, items)
                pred = min(x for x in (issue, memory) if x is not None)
                row.update({
                    "predicted_ops_per_sec": rnd(pred),
                    "predicted_upper_ops_per_sec": rnd(issue),
                    "predicted_note": "min(issue bound, memory bound); the memory bound assumes no L1 reuse of "
                                      "per-thread data, so the issue bound is the figure if L1 caught it all",
                    "issue_bound": rnd(issue), "issue_limiting_pipe": pipe,
                    "sm_cycles_per_op_by_pipe": {k: rnd(v) for k, v in cyc.items()},
                    "memory_bound": rnd(memory), "memory_level": level,
                    "memory_bounds_by_level": {k: rnd(v) for k, v in mb.items()},
                    "memory_pattern": mem.get("pattern"),
                    "bytes_per_op": {k: rnd(v) for k, v in mem.items() if k.endswith("bytes_per_op")},
                    "sass_instructions_per_op": round(total(mix)),
                    "sass_mix_per_op": {k: round(mix[k]) for k in CLASSES if mix[k]},
                    "method": method, "detail": detail,
                })
                if row["requests_in_flight"]:
                    row["batch_time_us_at_full_residency"] = rnd(row["requests_in_flight"] / pred * 1e6)
                ws = mem.get("working_set_bytes_per_request")
                if ws and row["requests_in_flight"]:
                    total_ws = ws * row["requests_in_flight"]
                    row["working_set_bytes_resident"] = total_ws
                    if total_ws > gpu["l2_mb"] * 1e6:
                        row["memory_bound_if_l2_misses"] = rnd(gpu["hbm_tbps"] * 1e12 / mem["l2_bytes_per_op"])
                        row["working_set_note"] = (
                            "the resident requests' per-thread data (%.0f MB) exceeds the %d MB L2: the L2 "
                            "figure is optimistic; if the sector traffic missed L2 it would go to HBM "
                            "(memory_bound_if_l2_misses)" % (total_ws / 1e6, gpu["l2_mb"]))
                if bench.startswith("aes"):
                    row["predicted_bytes_per_sec"] = rnd(pred * 16384)
                if bench == "x25519_derive" and detail and detail.get("ladder_step_cycles_one_warp"):
                    # Few requests in flight: up to one warp per SM sub-partition, each alone,
                    # issuing in order (in_order_cycles); an operation's latency is its
                    # instructions at the ladder step's one-warp rate, and throughput is
                    # requests / latency until the issue bound caps it.
                    ipc = detail["ladder_step_ipc_one_warp"]
                    latency_s = total(mix) / ipc / (gpu["clock_ghz"] * 1e9)
                    one_warp_each = 32 * 4 * gpu["sms"]
                    row["latency_per_op_us_one_warp_per_subpartition"] = rnd(latency_s * 1e6)
                    row["requests_in_flight_to_reach_the_issue_bound"] = round(issue * latency_s)
                    for n in (4096, 16384):
                        row["predicted_ops_per_sec_at_%d_in_flight" % n] = rnd(
                            min(issue, n / latency_s) if n <= one_warp_each else issue)
                    row["latency_note"] = (
                        "ASSUMPTIONS: dependent-issue latency %d cycles (ALU, IMAD), %d (IMAD.WIDE/HI), a warp "
                        "instruction holds its 16-lane pipe 2 cycles (4 for IMAD.WIDE/HI); one warp alone issues "
                        "the ladder step at %.2f instructions a cycle (in-order simulation of its SASS); up to "
                        "%d requests (one warp per sub-partition) throughput = requests / latency" % (
                            LAT["alu"], LAT["imad_wide_hi"], ipc, one_warp_each))
            if bench in variants:
                row["variants"] = []
                for gname_v, v in variants[bench]:
                    vr = {"tag": v["tag"], "what": v["what"], "nvcc_extra_flags": v["nvcc_extra_flags"]}
                    vr.update(variant_row(bench, v["ptx"], gname_v, v["block"], v["dyn"], gpu))
                    row["variants"].append(vr)
            row["host_twin_counts"] = counts.get(bench) if counts else None
            if counts is None:
                row["host_twin_counts_null_reason"] = counts_reason
            st, txt = count_check(bench, detail, counts.get(bench) if counts else None)
            row["trip_count_check"] = st
            row["trip_count_check_detail"] = txt
            if cu in static_mix:
                sm = static_mix[cu]
                row["sass_static_mix_whole_cubin"] = {k: int(sm[k]) for k in CLASSES if sm[k]}
                row["sass_static_instructions_whole_cubin"] = int(total(sm))
            else:
                row["sass_static_mix_whole_cubin"] = None
                row["sass_null_reason"] = sass_reason
            if bench in TARGETS:
                row["target_ops_per_sec"] = rnd(TARGETS[bench])
                if row.get("predicted_ops_per_sec"):
                    row["predicted_over_target"] = rnd(row["predicted_ops_per_sec"] / TARGETS[bench], 3)
            rows.append(row)
            if gkey == "h100-sxm":
                summary.append(row)
        doc = {"kind": "static model", "prediction": True,
               "note": "PREDICTIONS from static analysis of the sm_90 cubins without a GPU (scripts/gpu-model.sh); "
                       "not measurements. Never mix with measured rows.",
               "gpu": gpu["name"], "gpu_key": gkey, "sms": gpu["sms"], "clock_ghz": gpu["clock_ghz"],
               "toolchain": {"nvcc": nvv, "nvcc_command_example": cmds.get("rsa_batch.cu"),
                             "nvdisasm": nvdisasm, "sass_available": bool(sass),
                             "sass_null_reason": None if sass else sass_reason},
               "assumptions": ASSUMPTIONS, "kernels": rows}
        out = os.path.join(args.out_dir, "model-" + gkey)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "gpu_model.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        log("wrote %s" % os.path.relpath(os.path.join(out, "gpu_model.json"), ROOT))

    print("\nStatic model, H100 SXM (PREDICTIONS, not measurements):")
    print("%-22s %5s %6s %6s %14s %14s %14s %12s" % ("kernel", "regs", "stack", "occ", "predicted/s", "issue-bound",
                                                       "memory-bound", "target/s"))
    for r in summary:
        fmt = lambda x: "%.3g" % x if x else "-"
        print("%-22s %5s %6s %6s %14s %14s %14s %12s" % (r["name"], r["regs"], r["stack_bytes"], r["occupancy"],
              fmt(r.get("predicted_ops_per_sec")), fmt(r.get("issue_bound")), fmt(r.get("memory_bound")),
              fmt(r.get("target_ops_per_sec"))))
    failed = [b for b, v in dyn.items() if v[4] and sass]
    log("done in %.1f s" % (time.time() - t0))
    if failed:
        log("ERROR: SASS was available but the model failed for %s (see null_reason in the JSON): the kernel "
            "changed in a way scripts/gpu_model.py does not follow yet" % ", ".join(failed))
        return 4
    if not sass:
        log("NOTE: SASS-based fields are null (%s); ptxas-based fields computed" % sass_reason)
    return 0


if __name__ == "__main__":
    sys.exit(main())
