// Rule: reflect padding is smaller than the input, pad < in, as PyTorch requires
// (check_reflect_pad): there is nothing to reflect beyond the far edge.
// ko: Padding<4> with PadMode<Reflect> on a 4x4 input.  ok: Padding<3>.
// EXPECT: ctcnn::Conv2d: reflect padding not smaller than the input
// EXPECT: check_reflect_pad<true, ctcnn::Conv2d<2, 3, ctcnn::Padding<4(, 4)?>, ctcnn::PadMode<ctcnn::Reflect> ?>, ctcnn::detail::rows, 4, 4>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>,
                               ctcnn::Conv2d<2, 3, ctcnn::Padding<4>, ctcnn::PadMode<ctcnn::Reflect>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>,
                               ctcnn::Conv2d<2, 3, ctcnn::Padding<3>, ctcnn::PadMode<ctcnn::Reflect>>> {};
static_assert(Net::output_shape == ctcnn::Shape<2, 8, 8>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
