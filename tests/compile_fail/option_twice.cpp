// Rule: each kind of option is given at most once (check_option_once): two
// strides would leave the reader guessing which one counts.
// ko: Conv2d<6, 3, Stride<1>, Padding<1>, Stride<2>>.  ok: one Stride<2>.
// EXPECT: ctcnn: the same option given more than once
// EXPECT: check_option_once<true, ctcnn::Conv2d<6, 3, ctcnn::Stride<1(, 1)?>, ctcnn::Padding<1(, 1)?>, ctcnn::Stride<2(, 2)?> ?>, ctcnn::option_kind::stride, 2>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>,
                               ctcnn::Conv2d<6, 3, ctcnn::Stride<1>, ctcnn::Padding<1>, ctcnn::Stride<2>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>,
                               ctcnn::Conv2d<6, 3, ctcnn::Padding<1>, ctcnn::Stride<2>>> {};
static_assert(Net::output_shape == ctcnn::Shape<6, 4, 4>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
