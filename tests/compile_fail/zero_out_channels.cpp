// Rule: a layer produces at least one channel / feature (check_out_count_nonzero).
// ko: Linear<0>.  ok: Linear<1>.
// EXPECT: ctcnn: zero output channels / features
// EXPECT: check_out_count_nonzero<true, ctcnn::Linear<0>, 0>'
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Flatten, ctcnn::Linear<0>> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 4, 4>, ctcnn::Flatten, ctcnn::Linear<1>> {};
static_assert(Net::output_shape == ctcnn::Shape<1>{});
#endif

void run(const Net& net, const ctcnn::Tensor<Net::input_shape_t>& x) {
  auto y = net.forward(x);
  static_cast<void>(y);
}
