// Out-of-order byte ranges held past rcv_nxt, as offsets relative to rcv_nxt
// kept sorted and merged. Bounded: a segment that would need more than
// max_ranges separate ranges is refused (the peer retransmits it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputls::net {

class OooRanges {
 public:
  struct Range { uint32_t begin, end; };  // [begin, end) relative to rcv_nxt

  OooRanges() = default;
  explicit OooRanges(size_t max_ranges) : max_(max_ranges) {}
  void set_max(size_t m) { max_ = m; }
  bool empty() const { return ranges_.empty(); }
  size_t count() const { return ranges_.size(); }
  void clear() { ranges_.clear(); }

  // Adds [begin, end); false (nothing changed) when it would exceed the bound.
  bool add(uint32_t begin, uint32_t end) {
    std::vector<Range> out;
    out.reserve(ranges_.size() + 1);
    bool placed = false;
    Range n{begin, end};
    for (const Range& r : ranges_) {
      if (r.end < n.begin) {
        out.push_back(r);
      } else if (n.end < r.begin) {
        if (!placed) { out.push_back(n); placed = true; }
        out.push_back(r);
      } else {  // overlapping or touching: merge into n
        n.begin = std::min(n.begin, r.begin);
        n.end = std::max(n.end, r.end);
      }
    }
    if (!placed) out.push_back(n);
    if (out.size() > max_) return false;
    ranges_.swap(out);
    return true;
  }

  // After rcv_nxt advanced by `advanced` bytes: returns how many further bytes
  // became in order (a range starting at or before the new rcv_nxt) and
  // rebases the rest.
  uint32_t advance(uint32_t advanced) {
    uint32_t extra = 0;
    std::vector<Range> out;
    for (Range r : ranges_) {
      uint32_t edge = advanced + extra;
      if (r.end <= edge) continue;
      if (r.begin <= edge) { extra = r.end - advanced; continue; }
      out.push_back(r);
    }
    for (Range& r : out) { r.begin -= advanced + extra; r.end -= advanced + extra; }
    ranges_.swap(out);
    return extra;
  }
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  std::vector<Range> ranges_;
  size_t max_ = 8;
};

}  // namespace gputls::net
