// Rule: Linear takes a flat input (check_input_rank with rank 1): the missing
// Flatten between the convolutional part and the classifier.
// ko: Linear<10> straight after a (4, 2, 2) activation.  ok: with Flatten.
// EXPECT: ctcnn: input of the wrong rank for this layer
// EXPECT: add Flatten before it
// EXPECT: check_input_rank<true, ctcnn::Linear<10>, 1, 3>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<4, 3>, ctcnn::ReLU,
                               ctcnn::Linear<10>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Conv2d<4, 3>, ctcnn::ReLU,
                               ctcnn::Flatten, ctcnn::Linear<10>> {};
static_assert(Net::output_shape == ctcnn::Shape<10>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
