// Rule: InChannels<C>, when given, equals the channels of the layer's input
// (check_in_channels): a PyTorch-style Conv2d(3, 16, 3) after a 6-channel layer.
// ko: InChannels<3> where the input has 6 channels.  ok: InChannels<6>.
// EXPECT: ctcnn::Conv2d: InChannels does not match the input
// EXPECT: check_in_channels<true, ctcnn::Conv2d<16, 3, ctcnn::InChannels<3> ?>, 3, 6>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<3, 8, 8>, ctcnn::Conv2d<6, 3, ctcnn::InChannels<3>>,
                               ctcnn::ReLU, ctcnn::Conv2d<16, 3, ctcnn::InChannels<3>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<3, 8, 8>, ctcnn::Conv2d<6, 3, ctcnn::InChannels<3>>,
                               ctcnn::ReLU, ctcnn::Conv2d<16, 3, ctcnn::InChannels<6>>> {};
static_assert(Net::output_shape == ctcnn::Shape<16, 4, 4>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
