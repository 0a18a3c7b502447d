// Rule: a dilation is at least 1 (check_dilation_nonzero, via check_window_nonzero).
// ko: Conv2d<6, 3, Dilation<0>>.  ok: Conv2d<6, 3, Dilation<1>>.
// EXPECT: ctcnn: zero dilation
// EXPECT: check_dilation_nonzero<true, ctcnn::Conv2d<6, 3, ctcnn::Dilation<0(, 0)?> ?>, 0, 0>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>, ctcnn::Conv2d<6, 3, ctcnn::Dilation<0>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>, ctcnn::Conv2d<6, 3, ctcnn::Dilation<1>>> {};
static_assert(Net::output_shape == ctcnn::Shape<6, 6, 6>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
