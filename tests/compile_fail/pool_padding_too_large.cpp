// Rule: a pool's padding is at most half its kernel, pad <= kernel/2, as PyTorch
// requires (check_pool_padding).
// ko: AvgPool2d<3, Padding<2>> (2 > 3/2 = 1).  ok: AvgPool2d<3, Padding<1>>.
// EXPECT: ctcnn::MaxPool2d/AvgPool2d: padding larger than half the kernel
// EXPECT: check_pool_padding<true, ctcnn::AvgPool2d<3, ctcnn::Padding<2(, 2)?> ?>, ctcnn::detail::rows, 2, 3>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 6, 6>, ctcnn::AvgPool2d<3, ctcnn::Padding<2>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 6, 6>, ctcnn::AvgPool2d<3, ctcnn::Padding<1>>> {};
static_assert(Net::output_shape == ctcnn::Shape<1, 2, 2>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
