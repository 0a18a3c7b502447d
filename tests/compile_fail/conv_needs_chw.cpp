// Rule: Conv2d takes a (C, H, W) input (check_input_rank with rank 3): a
// convolution after Flatten.
// ko: Conv2d<4, 1> on a flat input of 16.  ok: the convolution before Flatten.
// EXPECT: ctcnn: input of the wrong rank for this layer
// EXPECT: check_input_rank<true, ctcnn::Conv2d<4, 1>, 3, 1>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Flatten, ctcnn::Conv2d<4, 1>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<4, 1>, ctcnn::Flatten> {};
static_assert(Net::output_shape == ctcnn::Shape<64>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
