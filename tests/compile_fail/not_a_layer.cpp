// Rule: every type after Input is a layer spec (check_is_layer_spec): an option
// written as if it were a layer, Conv2d<4, 3>, Stride<2> instead of
// Conv2d<4, 3, Stride<2>>. The position counts from 0 after Input.
// ko: Stride<2> at position 1.  ok: the stride inside the Conv2d.
// EXPECT: ctcnn::Sequential: not a layer
// EXPECT: check_is_layer_spec<true, ctcnn::Stride<2>, 1, false>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>, ctcnn::Conv2d<4, 3>, ctcnn::Stride<2>,
                               ctcnn::ReLU> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>, ctcnn::Conv2d<4, 3, ctcnn::Stride<2>>,
                               ctcnn::ReLU> {};
static_assert(Net::output_shape == ctcnn::Shape<4, 3, 3>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
