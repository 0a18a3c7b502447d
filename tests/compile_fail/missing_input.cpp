// Rule: a Sequential opens with Input<C, H, W> (or Input<Features>): the shape of
// one sample is what every later shape is derived from.
// ko: Sequential<Conv2d<6, 5>, ReLU>.  ok: Input<1, 28, 28> first.
// The network is only declared here: without an Input there is no input shape,
// so code that runs such a network (net.forward) adds errors of its own.
// EXPECT: ctcnn::Sequential: the first type must be Input
// EXPECT: Sequential<ctcnn::Conv2d<6, 5>, ctcnn::ReLU ?>
// EXPECT-ERRORS: 1
#include <ctcnn/ctcnn.hpp>

#ifdef CTCNN_EXPECT_FAIL
struct Net : ctcnn::Sequential<ctcnn::Conv2d<6, 5>, ctcnn::ReLU> {};
#else
struct Net : ctcnn::Sequential<ctcnn::Input<1, 28, 28>, ctcnn::Conv2d<6, 5>, ctcnn::ReLU> {};
static_assert(Net::output_shape == ctcnn::Shape<6, 24, 24>{});
#endif
