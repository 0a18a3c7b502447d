// Rule: a kernel is at least 1x1 (check_kernel_nonzero, via check_window_nonzero).
// A negative kernel (Conv2d<6, -3>) is read as 0 and lands here too.
// ko: Conv2d<6, 0>.  ok: Conv2d<6, 1>.
// EXPECT: ctcnn: zero kernel size
// EXPECT: check_kernel_nonzero<true, ctcnn::Conv2d<6, 0>, 0, 0>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<6, 0>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<6, 1>> {};
static_assert(Net::output_shape == ctcnn::Shape<6, 4, 4>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
