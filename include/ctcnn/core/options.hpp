// ctcnn/core/options.hpp
// Named layer options. A layer template takes its defining numbers first and
// these tags after, in any order: Conv2d<16, 3, Stride<2>, Padding<1>>.
// Each option names its kind (option_kind) so a layer can look it up, reject an
// option it does not understand, and reject the same kind given twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ctcnn {

namespace option_kind {
struct stride {};
struct padding {};
struct dilation {};
struct bias {};
struct pad_mode {};
struct in_channels {};
struct in_features {};
struct ceil_mode {};
struct count_include_pad {};
}  // namespace option_kind

// A kernel size given as a value: Conv2d<16, Kernel{3, 5}> (rows, cols);
// a plain number means a square kernel.
struct Kernel {
  std::size_t rows;
  std::size_t cols;
  constexpr Kernel(std::size_t rows_, std::size_t cols_) : rows(rows_), cols(cols_) {}
};

template <std::size_t Rows, std::size_t Cols = Rows>
struct Stride {
  using option_kind = option_kind::stride;
  static constexpr std::size_t rows = Rows, cols = Cols;
};

// Explicit padding; Same and Valid below are the named alternatives.
template <std::size_t Rows, std::size_t Cols = Rows>
struct Padding {
  using option_kind = option_kind::padding;
  static constexpr bool same = false;
  static constexpr std::size_t rows = Rows, cols = Cols;
};
// PyTorch's padding='same' (stride 1 only; odd extra padding goes after).
struct Same {
  using option_kind = option_kind::padding;
  static constexpr bool same = true;
  static constexpr std::size_t rows = 0, cols = 0;
};
// padding='valid': no padding (the default, named for readability).
struct Valid {
  using option_kind = option_kind::padding;
  static constexpr bool same = false;
  static constexpr std::size_t rows = 0, cols = 0;
};

template <std::size_t Rows, std::size_t Cols = Rows>
struct Dilation {
  using option_kind = option_kind::dilation;
  static constexpr std::size_t rows = Rows, cols = Cols;
};

struct NoBias {
  using option_kind = option_kind::bias;
  static constexpr bool enabled = false;
};

// Padding modes, PyTorch's padding_mode for Conv2d.
enum class PadKind { zeros, reflect, replicate, circular };
struct Zeros { static constexpr PadKind kind = PadKind::zeros; };
struct Reflect { static constexpr PadKind kind = PadKind::reflect; };
struct Replicate { static constexpr PadKind kind = PadKind::replicate; };
struct Circular { static constexpr PadKind kind = PadKind::circular; };
template <class Mode>
struct PadMode {
  using option_kind = option_kind::pad_mode;
  static constexpr PadKind kind = Mode::kind;
};

// Checked assertions for users who write PyTorch-style definitions.
template <std::size_t C>
struct InChannels {
  using option_kind = option_kind::in_channels;
  static constexpr std::size_t value = C;
};
template <std::size_t N>
struct InFeatures {
  using option_kind = option_kind::in_features;
  static constexpr std::size_t value = N;
};

// Pooling: ceil instead of floor in the output-size formula.
struct CeilMode {
  using option_kind = option_kind::ceil_mode;
  static constexpr bool enabled = true;
};
// AvgPool2d: divide by the number of real (non-padding) elements, PyTorch's
// count_include_pad=False. The default, as in PyTorch, counts the padding.
struct ExcludePad {
  using option_kind = option_kind::count_include_pad;
  static constexpr bool include = false;
};
struct IncludePad {
  using option_kind = option_kind::count_include_pad;
  static constexpr bool include = true;
};

namespace detail {

template <class T, class = void>
struct option_kind_of {
  using type = void;
};
template <class T>
struct option_kind_of<T, std::void_t<typename T::option_kind>> {
  using type = typename T::option_kind;
};
template <class T>
using option_kind_of_t = typename option_kind_of<T>::type;

// The first option of kind Kind among Options, or Default.
template <class Kind, class Default, class... Options>
struct find_option {
  using type = Default;
};
template <class Kind, class Default, class First, class... Rest>
struct find_option<Kind, Default, First, Rest...>
    : std::conditional_t<std::is_same_v<option_kind_of_t<First>, Kind>, std::type_identity<First>,
                         find_option<Kind, Default, Rest...>> {};
template <class Kind, class Default, class... Options>
using find_option_t = typename find_option<Kind, Default, Options...>::type;

template <class Kind, class... Options>
inline constexpr std::size_t count_option = (std::size_t{0} + ... +
                                             std::is_same_v<option_kind_of_t<Options>, Kind>);

template <class Option, class... AllowedKinds>
inline constexpr bool option_allowed = (std::is_same_v<option_kind_of_t<Option>, AllowedKinds> || ...);

// A kernel given as a number or as Kernel{rows, cols}.
template <auto K>
constexpr std::size_t kernel_rows() {
  if constexpr (std::is_integral_v<decltype(K)>) {
    return K < 0 ? 0 : static_cast<std::size_t>(K);
  } else {
    return K.rows;
  }
}
template <auto K>
constexpr std::size_t kernel_cols() {
  if constexpr (std::is_integral_v<decltype(K)>) {
    return K < 0 ? 0 : static_cast<std::size_t>(K);
  } else {
    return K.cols;
  }
}

}  // namespace detail
}  // namespace ctcnn
