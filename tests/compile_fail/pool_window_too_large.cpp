// Rule: a pooling window must fit the padded input, on each axis:
//   in + 2*pad >= dilation*(kernel-1) + 1   (check_pool_window_fits)
// One pool too many: 3x3 -> MaxPool2d<2> -> 1x1 -> MaxPool2d<2>.
// ko: the second pool on the 1x1 input.  ok: the second pool with Padding<1>.
// EXPECT: ctcnn::MaxPool2d/AvgPool2d: pooling window larger than padded input
// EXPECT: check_pool_window_fits<true, ctcnn::MaxPool2d<2>, ctcnn::detail::rows, 1, 0, 2, 1>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net
    : ctcnn::Sequential<ctcnn::Input<2, 3, 3>, ctcnn::MaxPool2d<2>, ctcnn::MaxPool2d<2>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<2, 3, 3>, ctcnn::MaxPool2d<2>,
                               ctcnn::MaxPool2d<2, ctcnn::Padding<1>>> {};
static_assert(Net::output_shape == ctcnn::Shape<2, 1, 1>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
