// Rule: padding Same needs stride 1, as in PyTorch (check_same_needs_stride_one).
// ko: Conv2d<8, 3, Same, Stride<2>>.  ok: the explicit Padding<1> with Stride<2>.
// EXPECT: ctcnn::Conv2d: padding Same with a stride other than 1
// EXPECT: check_same_needs_stride_one<true, ctcnn::Conv2d<8, 3, ctcnn::Same, ctcnn::Stride<2(, 2)?> ?>, ctcnn::detail::rows, 2>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net
    : ctcnn::Sequential<ctcnn::Input<3, 8, 8>, ctcnn::Conv2d<8, 3, ctcnn::Same, ctcnn::Stride<2>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<3, 8, 8>,
                               ctcnn::Conv2d<8, 3, ctcnn::Padding<1>, ctcnn::Stride<2>>> {};
static_assert(Net::output_shape == ctcnn::Shape<8, 4, 4>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
