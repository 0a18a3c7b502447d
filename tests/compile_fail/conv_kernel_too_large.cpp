// Rule: Conv2d's dilated kernel must fit the padded input, on each axis:
//   in + pad_before + pad_after >= dilation*(kernel-1) + 1   (check_conv_kernel_fits)
// ko: a 7x7 kernel on a 4x4 input without padding.
// ok: the largest kernel that fits, 4x4, giving a 1x1 output.
// EXPECT: ctcnn::Conv2d: dilated kernel larger than padded input
// EXPECT: check_conv_kernel_fits<true, ctcnn::Conv2d<6, 7>, ctcnn::detail::rows, 4, 0, 0, 7, 1>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<6, 7>, ctcnn::ReLU> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<6, 4>, ctcnn::ReLU> {};
static_assert(Net::output_shape == ctcnn::Shape<6, 1, 1>{});
#endif

// Using the network must not add errors of its own after the first.
void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
