// ctcnn/ctcnn.hpp: everything a user needs to define, run and train a network:
// shapes and tensors, the layers, Sequential and its summary table, losses,
// optimizers and initialisers. The headers that need more than Boost (zlib,
// nlohmann-json) are included on their own: io/* (data sets, weights, images)
// and train/trainer.hpp (the training loop, which reads data and writes weights).
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
#include "ctcnn/net/summary.hpp"
#include "ctcnn/train/init.hpp"
#include "ctcnn/train/loss.hpp"
#include "ctcnn/train/optimizer.hpp"
