// A broken network reports ONE error, about the first broken layer, and nothing
// about the layers after it, even when those are broken too and the network is
// used afterwards (weights, forward, a training step).
// The network is LeNet-5's shape on a 16x16 input, with two mistakes in ko:
// the first Conv2d's kernel is 21 (does not fit 16 + 2*2 = 20) and Linear states
// InFeatures<400> where 16*2*2 = 64 arrive. Only the first may be reported:
// the lines below that must not match name the checks of the later layers.
// ok: kernel 5 and InFeatures<64>.
// EXPECT: ctcnn::Conv2d: dilated kernel larger than padded input
// EXPECT: check_conv_kernel_fits<true, ctcnn::Conv2d<6, 21(UL)?, ctcnn::Padding<2(, 2)?> ?>, ctcnn::detail::rows, 16, 2, 2, 21, 1>'
// EXPECT-NOT: InFeatures does not match
// EXPECT-NOT: check_[a-z_]*<true, ctcnn::Linear
// EXPECT-NOT: check_[a-z_]*<true, ctcnn::Conv2d<16
// EXPECT-NOT: check_[a-z_]*<true, ctcnn::MaxPool2d
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

namespace cn = ctcnn;

#ifdef CTCNN_EXPECT_FAIL
inline constexpr std::size_t first_kernel = 21;
inline constexpr std::size_t stated_features = 400;
#else
inline constexpr std::size_t first_kernel = 5;
inline constexpr std::size_t stated_features = 64;
#endif

struct Net : cn::Sequential<cn::Input<1, 16, 16>,
                            cn::Conv2d<6, first_kernel, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
                            cn::Conv2d<16, 5>, cn::ReLU, cn::MaxPool2d<2>,
                            cn::Flatten,
                            cn::Linear<10, cn::InFeatures<stated_features>>> {};

void step(Net& net, const cn::Tensor<cn::Shape<4, 1, 16, 16>>& x) {
  auto ws = cn::make_workspace<4>(net);
  const auto& y = net.forward(x, *ws);
  cn::Tensor<cn::batched_t<4, Net::output_shape_t>> dy;
  static_cast<void>(y);
  net.zero_grad();
  net.backward(*ws, dy);
  static_cast<void>(net.parameters());
}
