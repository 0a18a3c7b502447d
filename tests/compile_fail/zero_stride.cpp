// Rule: a stride is at least 1 on each axis (check_stride_nonzero, via
// check_window_nonzero), here on a pool's column stride.
// ko: MaxPool2d<2, Stride<2, 0>>.  ok: MaxPool2d<2, Stride<2, 1>>.
// EXPECT: ctcnn: zero stride
// EXPECT: check_stride_nonzero<true, ctcnn::MaxPool2d<2, ctcnn::Stride<2, 0> ?>, 2, 0>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<3, 8, 8>, ctcnn::MaxPool2d<2, ctcnn::Stride<2, 0>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<3, 8, 8>, ctcnn::MaxPool2d<2, ctcnn::Stride<2, 1>>> {};
static_assert(Net::output_shape == ctcnn::Shape<3, 4, 7>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
