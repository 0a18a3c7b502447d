// Rule: circular padding is at most the input, pad <= in, as PyTorch requires
// (check_circular_pad): the wrap-around copies at most one whole period.
// ko: Padding<5> with PadMode<Circular> on a 4x4 input.  ok: Padding<4>, the limit.
// EXPECT: ctcnn::Conv2d: circular padding larger than the input
// EXPECT: check_circular_pad<true, ctcnn::Conv2d<2, 3, ctcnn::Padding<5(, 5)?>, ctcnn::PadMode<ctcnn::Circular> ?>, ctcnn::detail::rows, 5, 4>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>,
                               ctcnn::Conv2d<2, 3, ctcnn::Padding<5>, ctcnn::PadMode<ctcnn::Circular>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>,
                               ctcnn::Conv2d<2, 3, ctcnn::Padding<4>, ctcnn::PadMode<ctcnn::Circular>>> {};
static_assert(Net::output_shape == ctcnn::Shape<2, 10, 10>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
