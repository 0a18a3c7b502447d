// Rule: Conv2d's kernel must fit the padded input on each axis separately
// (check_conv_kernel_fits, cols): a kernel that fits the rows but not the columns.
// ko: Kernel{3, 5} on a 8x4 input: rows 8 >= 3, columns 4 < 5.
// ok: Padding<0, 1> makes the columns 4 + 1 + 1 = 6 >= 5.
// EXPECT: ctcnn::Conv2d: dilated kernel larger than padded input
// EXPECT: check_conv_kernel_fits<true, ctcnn::Conv2d<16, (ctcnn::Kernel)?{3, 5}>, ctcnn::detail::cols, 4, 0, 0, 5, 1>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<2, 8, 4>, ctcnn::Conv2d<16, ctcnn::Kernel{3, 5}>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<2, 8, 4>,
                               ctcnn::Conv2d<16, ctcnn::Kernel{3, 5}, ctcnn::Padding<0, 1>>> {};
static_assert(Net::output_shape == ctcnn::Shape<16, 6, 2>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
