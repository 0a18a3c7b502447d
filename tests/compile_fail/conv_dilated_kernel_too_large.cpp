// Rule: the *dilated* kernel must fit: a 3x3 kernel with dilation 3 covers
// 3*(3-1) + 1 = 7 pixels (check_conv_kernel_fits).
// ko: Conv2d<4, 3, Dilation<3>> on a 6x6 input: 6 < 7.
// ok: the same with Padding<1>: 6 + 1 + 1 = 8 >= 7, output 2x2.
// EXPECT: ctcnn::Conv2d: dilated kernel larger than padded input
// EXPECT: check_conv_kernel_fits<true, ctcnn::Conv2d<4, 3, ctcnn::Dilation<3(, 3)?> ?>, ctcnn::detail::rows, 6, 0, 0, 3, 3>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<2, 6, 6>, ctcnn::Conv2d<4, 3, ctcnn::Dilation<3>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<2, 6, 6>,
                               ctcnn::Conv2d<4, 3, ctcnn::Dilation<3>, ctcnn::Padding<1>>> {};
static_assert(Net::output_shape == ctcnn::Shape<4, 2, 2>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
