"""A small convolutional ONNX model, built in-process: with the `onnx` helper when it is installed,
else with a few lines of protobuf encoding (standard library only).

Why both: ONNX Runtime and OpenCV dnn are verified by running a real network, but neither
depends on the `onnx` package, so most environments that have onnxruntime-gpu or a CUDA
OpenCV cannot build a model with `onnx.helper`. The hand encoder writes the same
ModelProto (checked against `onnx.helper` in the tests where onnx is installed).

The network is a stack of Conv 3x3 + Relu layers (the one opencv-cuda-build.md §6 timed):
every layer is supported by the CUDA execution provider, cuDNN and OpenCV's CUDA backend.
"""

import random
import struct

# (in channels, out channels, stride): 3 -> 32 -> 64(/2) -> 64 -> 128(/2) -> 128 -> 128
BENCH_LAYERS = ((3, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1))
VERIFY_LAYERS = ((3, 16, 1), (16, 32, 2), (32, 32, 1))

OPSET = 13
IR_VERSION = 8
FLOAT = 1  # TensorProto.FLOAT
ATTR_INTS = 7  # AttributeProto.INTS


def weights(layers, seed=0):
    """Deterministic (W, B) float lists per layer, He-uniform scaled so activations stay O(1)."""
    rng = random.Random(seed)
    out = []
    for cin, cout, _stride in layers:
        bound = (6.0 / (cin * 9)) ** 0.5
        w = [rng.uniform(-bound, bound) for _ in range(cout * cin * 9)]
        b = [rng.uniform(-0.1, 0.1) for _ in range(cout)]
        out.append((w, b))
    return out


def output_shape(layers, batch, height, width):
    h, w = height, width
    for _cin, _cout, stride in layers:
        h = (h + 2 - 3) // stride + 1
        w = (w + 2 - 3) // stride + 1
    return [batch, layers[-1][1], h, w]


def flops(layers, height, width):
    """Multiply-adds x 2 of one image through the net."""
    total, h, w = 0, height, width
    for cin, cout, stride in layers:
        h = (h + 2 - 3) // stride + 1
        w = (w + 2 - 3) // stride + 1
        total += 2 * cin * 9 * cout * h * w
    return total


def build(layers, batch, height, width, prefer_onnx=True):
    """(serialized ModelProto, how it was built: "onnx.helper" or "builtin encoder")."""
    if prefer_onnx:
        try:
            return build_with_onnx(layers, batch, height, width), "onnx.helper"
        except ImportError:
            pass
    return build_builtin(layers, batch, height, width), "builtin encoder"


# --- with onnx.helper ---------------------------------------------------------------------------


def build_with_onnx(layers, batch, height, width):
    from onnx import TensorProto, helper

    nodes, inits = [], []
    prev = "x"
    for i, ((cin, cout, stride), (w, b)) in enumerate(zip(layers, weights(layers))):
        wname, bname, conv, relu = "w%d" % i, "b%d" % i, "conv%d" % i, ("y" if i == len(layers) - 1 else "relu%d" % i)
        inits.append(helper.make_tensor(wname, TensorProto.FLOAT, [cout, cin, 3, 3], struct.pack("<%df" % len(w), *w), raw=True))
        inits.append(helper.make_tensor(bname, TensorProto.FLOAT, [cout], struct.pack("<%df" % len(b), *b), raw=True))
        nodes.append(helper.make_node("Conv", [prev, wname, bname], [conv], name=conv, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride]))
        nodes.append(helper.make_node("Relu", [conv], [relu], name="r%d" % i))
        prev = relu
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, height, width])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape(layers, batch, height, width))
    graph = helper.make_graph(nodes, "gpuready_convnet", [x], [y], inits)
    model = helper.make_model(graph, producer_name="gpuready", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model.SerializeToString()


# --- builtin protobuf encoder -------------------------------------------------------------------


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _int(field, value):
    return _key(field, 0) + _varint(value)


def _bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, 2) + _varint(len(data)) + data


def _ints_attr(name, values):
    # AttributeProto: name=1, ints=8 (proto2: repeated, not packed), type=20
    return _bytes(1, name) + b"".join(_int(8, v) for v in values) + _int(20, ATTR_INTS)


def _node(inputs, outputs, name, op_type, attrs=()):
    # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
    body = b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
    body += _bytes(3, name) + _bytes(4, op_type) + b"".join(_bytes(5, a) for a in attrs)
    return body


def _tensor(name, dims, values):
    # TensorProto: dims=1, data_type=2, name=8, raw_data=9
    raw = struct.pack("<%df" % len(values), *values)
    return b"".join(_int(1, d) for d in dims) + _int(2, FLOAT) + _bytes(8, name) + _bytes(9, raw)


def _value_info(name, dims):
    # ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{dim_value=1}}}}}
    shape = b"".join(_bytes(1, _int(1, d)) for d in dims)
    tensor = _int(1, FLOAT) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor))


def build_builtin(layers, batch, height, width):
    nodes, inits = [], []
    prev = "x"
    for i, ((cin, cout, stride), (w, b)) in enumerate(zip(layers, weights(layers))):
        wname, bname, conv, relu = "w%d" % i, "b%d" % i, "conv%d" % i, ("y" if i == len(layers) - 1 else "relu%d" % i)
        inits.append(_tensor(wname, [cout, cin, 3, 3], w))
        inits.append(_tensor(bname, [cout], b))
        attrs = (_ints_attr("kernel_shape", [3, 3]), _ints_attr("pads", [1, 1, 1, 1]), _ints_attr("strides", [stride, stride]))
        nodes.append(_node([prev, wname, bname], [conv], conv, "Conv", attrs))
        nodes.append(_node([conv], [relu], "r%d" % i, "Relu"))
        prev = relu
    # GraphProto: node=1, name=2, initializer=5, input=11, output=12
    graph = b"".join(_bytes(1, n) for n in nodes) + _bytes(2, "gpuready_convnet")
    graph += b"".join(_bytes(5, t) for t in inits)
    graph += _bytes(11, _value_info("x", [batch, 3, height, width]))
    graph += _bytes(12, _value_info("y", output_shape(layers, batch, height, width)))
    # ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8{domain=1, version=2}
    return _int(1, IR_VERSION) + _bytes(2, "gpuready") + _bytes(7, graph) + _bytes(8, _bytes(1, "") + _int(2, OPSET))


def input_batch(batch, height, width, seed=1):
    """A deterministic float32 input in [0, 1), as a numpy array (N, 3, H, W)."""
    import numpy as np

    return np.random.default_rng(seed).random((batch, 3, height, width), dtype=np.float32)
