// Rule: a layer takes only the options its header lists (check_option_known):
// CeilMode belongs to the pools, not to Conv2d.
// ko: Conv2d<6, 3, CeilMode>.  ok: MaxPool2d<3, CeilMode> after Conv2d<6, 3>.
// EXPECT: ctcnn: option not understood by this layer
// EXPECT: check_option_known<true, ctcnn::Conv2d<6, 3, ctcnn::CeilMode>, ctcnn::CeilMode, false>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>, ctcnn::Conv2d<6, 3, ctcnn::CeilMode>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 8, 8>, ctcnn::Conv2d<6, 3>,
                               ctcnn::MaxPool2d<4, ctcnn::CeilMode>> {};
static_assert(Net::output_shape == ctcnn::Shape<6, 2, 2>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
