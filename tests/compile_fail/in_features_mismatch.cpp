// Rule: InFeatures<N>, when given, equals the size of Linear's input
// (check_in_features): 4 channels of 2x2 flatten to 16 features, not 15.
// ko: Linear<10, InFeatures<15>>.  ok: Linear<10, InFeatures<16>>.
// EXPECT: ctcnn::Linear: InFeatures does not match the input
// EXPECT: check_in_features<true, ctcnn::Linear<10, ctcnn::InFeatures<15> ?>, 15, 16>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<4, 2, 2>, ctcnn::Flatten,
                               ctcnn::Linear<10, ctcnn::InFeatures<15>>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<4, 2, 2>, ctcnn::Flatten,
                               ctcnn::Linear<10, ctcnn::InFeatures<16>>> {};
static_assert(Net::output_shape == ctcnn::Shape<10>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
