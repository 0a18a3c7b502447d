// ctcnn/layers/linear.hpp
// Linear<OutFeatures, Options...>: y = x W^T + b, as torch.nn.Linear.
//
//   input (In) -> output (OutFeatures); the input must be flat (add Flatten).
// Options: InFeatures<N> (assert the input size), NoBias.
// Parameters: weight (Out, In), then bias (Out).
// Cost: Out*In multiply-adds per sample.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include "ctcnn/core/diagnostics.hpp"
#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/options.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/kernels/linear.hpp"

namespace ctcnn {

template <std::size_t InFeatures_, std::size_t OutFeatures, bool Bias>
struct LinearLayer {
  using input_shape = Shape<InFeatures_>;
  using output_shape = Shape<OutFeatures>;
  using weight_shape = Shape<OutFeatures, InFeatures_>;
  using bias_shape = Shape<OutFeatures>;
  static constexpr bool ok = true;
  static constexpr bool has_bias = Bias;
  static constexpr std::size_t in_features = InFeatures_, out_features = OutFeatures;
  static constexpr std::size_t weight_size = OutFeatures * InFeatures_;
  static constexpr std::size_t parameter_count = weight_size + (Bias ? OutFeatures : 0);
  static constexpr std::size_t macs = weight_size;
  static constexpr std::size_t rf_kernel_rows = 1, rf_kernel_cols = 1;
  static constexpr std::size_t rf_stride_rows = 1, rf_stride_cols = 1;
  static constexpr bool rf_global = true;

  static constexpr auto parameter_specs() {
    constexpr ParameterSpec weight{"weight", 0, 2, {OutFeatures, InFeatures_}};
    if constexpr (Bias) {
      return std::array<ParameterSpec, 2>{weight,
                                          ParameterSpec{"bias", weight_size, 1, {OutFeatures}}};
    } else {
      return std::array<ParameterSpec, 1>{weight};
    }
  }

  // x: (N, In)  y: (N, Out)  params: weight (Out, In), bias (Out)
  static void forward(const float* x, float* y, const float* params, std::size_t batch) {
    kernels::linear_forward<InFeatures_, OutFeatures, Bias>(x, y, params, params + weight_size,
                                                            batch);
  }
  static void backward(const float* x, const float* /*y*/, const float* dy, float* dx,
                       const float* params, float* dparams, std::size_t batch) {
    kernels::linear_backward<InFeatures_, OutFeatures, Bias>(x, dy, dx, params, dparams,
                                                             dparams + weight_size, batch);
  }
  static std::string describe() {
    return detail::formatted("Linear(%zu->%zu%s)", InFeatures_, OutFeatures, Bias ? "" : ", no bias");
  }
};

template <std::size_t OutFeatures, class... Options>
struct Linear {
  using is_layer_spec = void;
  using in_features = detail::find_option_t<option_kind::in_features, void, Options...>;
  static constexpr bool bias = detail::count_option<option_kind::bias, Options...> == 0;

  template <bool Loud, class In>
  static constexpr bool checks() {
    return detail::all_of_checks<
        detail::check_option_known<
            Loud, Linear, Options,
            detail::option_allowed<Options, option_kind::in_features, option_kind::bias>>...,
        detail::check_option_once<Loud, Linear, detail::option_kind_of_t<Options>,
                                  detail::count_option<detail::option_kind_of_t<Options>,
                                                       Options...>>...,
        detail::check_input_rank<Loud, Linear, 1, In::rank>,
        detail::check_out_count_nonzero<Loud, Linear, OutFeatures>,
        detail::check_in_features<Loud, Linear, declared_in<In::size>(), In::size>>;
  }

  template <class In>
  static constexpr bool accepts = checks<false, In>();

  template <class In>
  using bind = std::conditional_t<checks<true, In>(), LinearLayer<In::size, OutFeatures, bias>,
                                  detail::failed_layer<In>>;

 private:
  template <std::size_t Actual>
  static constexpr std::size_t declared_in() {
    if constexpr (std::is_void_v<in_features>) {
      return Actual;
    } else {
      return in_features::value;
    }
  }
};

}  // namespace ctcnn
