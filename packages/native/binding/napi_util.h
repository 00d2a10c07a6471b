// Small helpers over Node-API's C interface: argument reading with bounds checks, errors.
// Every kernel receives one ArrayBuffer (the tfjs-wasm heap) and byte offsets into it; each
// offset is checked against the buffer's length before any pointer is formed.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tomosort {

/** A failure to report to JavaScript as an Error with this message. */
struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/** The arguments of one call, read by index. */
class Args {
 public:
  Args(napi_env env, napi_callback_info info, const char* fn) : env_(env), fn_(fn) {
    argc_ = kMax;
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok) fail("cannot read arguments");
  }

  [[noreturn]] void fail(const std::string& why) const { throw JsError(std::string(fn_) + ": " + why); }

  size_t count() const { return argc_; }

  double number(size_t i) const {
    double v;
    if (i >= argc_ || napi_get_value_double(env_, argv_[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }

  int64_t integer(size_t i) const {
    const double v = number(i);
    if (v != static_cast<double>(static_cast<int64_t>(v))) fail("argument " + std::to_string(i) + " must be an integer");
    return static_cast<int64_t>(v);
  }

  bool flag(size_t i) const { return number(i) != 0; }

  /** Int32Array argument as a vector. */
  std::vector<int64_t> ints(size_t i) const {
    napi_typedarray_type type;
    size_t length;
    void* data;
    if (i >= argc_ || napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array) {
      fail("argument " + std::to_string(i) + " must be an Int32Array");
    }
    const int32_t* p = static_cast<const int32_t*>(data);
    return std::vector<int64_t>(p, p + length);
  }

  /** The heap: an ArrayBuffer (argument i). */
  void heap(size_t i) {
    if (i >= argc_ || napi_get_arraybuffer_info(env_, argv_[i], &base_, &length_) != napi_ok) fail("argument " + std::to_string(i) + " must be an ArrayBuffer (the wasm heap)");
  }

  /**
   * float32 pointer at the byte offset in argument i, holding `count` values; offset −1 means
   * absent (nullptr) when `optional`.
   */
  float* f32(size_t i, int64_t count, bool optional = false) const {
    const int64_t offset = integer(i);
    if (offset < 0) {
      if (optional) return nullptr;
      fail("argument " + std::to_string(i) + ": negative offset");
    }
    if (base_ == nullptr) fail("no heap given");
    if (offset % 4 != 0) fail("argument " + std::to_string(i) + ": offset " + std::to_string(offset) + " is not 4-byte aligned");
    if (count < 0 || static_cast<uint64_t>(offset) + static_cast<uint64_t>(count) * 4 > length_) {
      fail("argument " + std::to_string(i) + ": " + std::to_string(count) + " floats at byte " + std::to_string(offset) + " run past the heap (" + std::to_string(length_) + " bytes)");
    }
    return reinterpret_cast<float*>(static_cast<uint8_t*>(base_) + offset);
  }

 private:
  static constexpr size_t kMax = 24;
  napi_env env_;
  const char* fn_;
  size_t argc_;
  napi_value argv_[kMax];
  void* base_ = nullptr;
  size_t length_ = 0;
};

}  // namespace tomosort
