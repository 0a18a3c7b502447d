// ctcnn/ctcnn.hpp: everything a user needs to define, run and train a network.
#pragma once

#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/options.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/core/tensor.hpp"
#include "ctcnn/layers/activation.hpp"
#include "ctcnn/layers/conv2d.hpp"
#include "ctcnn/layers/flatten.hpp"
#include "ctcnn/layers/linear.hpp"
#include "ctcnn/layers/pool.hpp"
#include "ctcnn/layers/softmax.hpp"
#include "ctcnn/net/sequential.hpp"
