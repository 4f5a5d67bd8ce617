"""ONNX models built in-process: with the `onnx` helper when it is installed, else with a small
protobuf encoder (standard library only).

Why both: ONNX Runtime and OpenCV dnn are verified and benched by running a real network, but
neither depends on the `onnx` package, so most environments that have onnxruntime-gpu or a CUDA
OpenCV cannot build a model with `onnx.helper`. The hand encoder writes the same ModelProto, byte
for byte (checked against `onnx.helper` in the tests where onnx is installed).

A model is described once, as a `Graph` (nodes, initializers, inputs and outputs, with the shapes
tracked as it is built), and encoded by either encoder. Two kinds are built from it:
- the conv net verify runs (a stack of Conv 3x3 + Relu, the one opencv-cuda-build.md §6 timed), and
- the detectors bench runs (gr_detectors.py: an SSD and a YOLO at their real layer shapes).
Every op used is one the CUDA execution provider, cuDNN and OpenCV's CUDA backend support.
"""

import random
import struct

# (in channels, out channels, stride): 3 -> 32 -> 64(/2) -> 64 -> 128(/2) -> 128 -> 128
BENCH_LAYERS = ((3, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1))
VERIFY_LAYERS = ((3, 16, 1), (16, 32, 2), (32, 32, 1))

OPSET = 13
IR_VERSION = 8
FLOAT = 1  # TensorProto.FLOAT
INT64 = 7  # TensorProto.INT64
FLOAT16 = 10  # TensorProto.FLOAT16
# AttributeProto.AttributeType
ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_FLOATS, ATTR_INTS = 1, 2, 3, 6, 7


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


# --- the graph description -----------------------------------------------------------------------


class Graph:
    """Nodes, initializers and shapes of one model, encodable by `onnx.helper` or the builtin encoder.

    Layer helpers (conv, maxpool, resize2x, ...) track each tensor's shape, so a builder can size
    a Reshape, and count the convolutions' FLOPs (multiply-adds x 2, per call of the whole batch).
    """

    def __init__(self, name, batch, channels, height, width, fp16=False, seed=0):
        self.name = name
        self.fp16 = bool(fp16)
        self.dtype = FLOAT16 if fp16 else FLOAT
        self.nodes = []  # (op_type, inputs, outputs, name, attrs)
        self.inits = []  # (name, data_type, dims, raw bytes)
        self.inputs = [("x", self.dtype, [batch, channels, height, width])]
        self.outputs = []
        self.shape = {"x": [batch, channels, height, width]}
        self.flops = 0
        self.params = 0
        self._count = 0
        self._seed = seed

    # names and raw tensors

    def _name(self, prefix):
        self._count += 1
        return "%s%d" % (prefix, self._count)

    def _floats(self, count, bound):
        try:
            import numpy as np

            self._seed += 1
            values = np.random.default_rng(self._seed).uniform(-bound, bound, count)
            return values.astype("<f2" if self.fp16 else "<f4").tobytes()
        except ImportError:
            rng = random.Random(self._seed)
            self._seed += 1
            return struct.pack("<%d%s" % (count, "e" if self.fp16 else "f"), *[rng.uniform(-bound, bound) for _ in range(count)])

    def init(self, prefix, data_type, dims, raw):
        name = self._name(prefix)
        self.inits.append((name, data_type, list(dims), raw))
        return name

    def int64s(self, values, prefix="shape"):
        return self.init(prefix, INT64, [len(values)], struct.pack("<%dq" % len(values), *values))

    def float32s(self, values, prefix="scales"):
        return self.init(prefix, FLOAT, [len(values)], struct.pack("<%df" % len(values), *values))

    def node(self, op_type, inputs, shape, attrs=None, outputs=1, shapes=None):
        outs = [self._name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append((op_type, list(inputs), outs, "n%d_%s" % (len(self.nodes), op_type), dict(attrs or {})))
        for i, out in enumerate(outs):
            self.shape[out] = list(shapes[i] if shapes else shape)
        return outs[0] if outputs == 1 else outs

    def output(self, name):
        self.outputs.append((name, self.dtype, self.shape[name]))

    # layers

    def conv(self, x, cout, k=3, stride=1, pad=None, groups=1, act="relu", bias=True):
        n, cin, h, w = self.shape[x]
        pad = k // 2 if pad is None else pad
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        fan_in = cin // groups * k * k
        wname = self.init("w", self.dtype, [cout, cin // groups, k, k], self._floats(cout * fan_in, (6.0 / fan_in) ** 0.5))
        ins = [x, wname]
        if bias:
            ins.append(self.init("b", self.dtype, [cout], self._floats(cout, 0.1)))
        self.params += cout * fan_in + (cout if bias else 0)
        self.flops += 2 * n * cout * fan_in * oh * ow
        attrs = {"kernel_shape": [k, k], "pads": [pad] * 4, "strides": [stride, stride]}
        if groups != 1:
            attrs["group"] = groups
        y = self.node("Conv", ins, [n, cout, oh, ow], attrs)
        if act == "relu":
            return self.node("Relu", [y], self.shape[y])
        if act == "silu":  # x * sigmoid(x), as PyTorch exports nn.SiLU
            s = self.node("Sigmoid", [y], self.shape[y])
            return self.node("Mul", [y, s], self.shape[y])
        return y

    def maxpool(self, x, k, stride, pad=0):
        n, c, h, w = self.shape[x]
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self.node("MaxPool", [x], [n, c, oh, ow], {"kernel_shape": [k, k], "pads": [pad] * 4, "strides": [stride, stride]})

    def concat(self, xs, axis=1):
        shape = list(self.shape[xs[0]])
        shape[axis] = sum(self.shape[x][axis] for x in xs)
        return self.node("Concat", xs, shape, {"axis": axis})

    def add(self, a, b):
        return self.node("Add", [a, b], self.shape[a])

    def sigmoid(self, x):
        return self.node("Sigmoid", [x], self.shape[x])

    def resize2x(self, x):
        """Nearest-neighbour upsampling by 2, as YOLO exports nn.Upsample(scale_factor=2)."""
        n, c, h, w = self.shape[x]
        scales = self.float32s([1.0, 1.0, 2.0, 2.0])
        attrs = {"coordinate_transformation_mode": "asymmetric", "mode": "nearest", "nearest_mode": "floor"}
        return self.node("Resize", [x, "", scales], [n, c, 2 * h, 2 * w], attrs)

    def split(self, x, sizes, axis=1):
        shapes = []
        for size in sizes:
            shape = list(self.shape[x])
            shape[axis] = size
            shapes.append(shape)
        return self.node("Split", [x, self.int64s(sizes, "split")], None, {"axis": axis}, outputs=len(sizes), shapes=shapes)

    def reshape(self, x, shape):
        return self.node("Reshape", [x, self.int64s(shape)], shape)

    def flatten(self, x, axis=1):
        shape = self.shape[x]
        outer = 1
        for d in shape[:axis]:
            outer *= d
        inner = 1
        for d in shape[axis:]:
            inner *= d
        return self.node("Flatten", [x], [outer, inner], {"axis": axis})

    def transpose(self, x, perm):
        return self.node("Transpose", [x], [self.shape[x][p] for p in perm], {"perm": list(perm)})

    def softmax(self, x, axis=-1):
        return self.node("Softmax", [x], self.shape[x], {"axis": axis})

    # encoding

    def encode(self, prefer_onnx=True):
        """(serialized ModelProto, "onnx.helper" or "builtin encoder")."""
        if prefer_onnx:
            try:
                return encode_with_onnx(self), "onnx.helper"
            except ImportError:
                pass
        return encode_builtin(self), "builtin encoder"


def conv_net(layers, batch, height, width):
    """The verify/bench conv net as a Graph (weights from `weights`, as before the Graph existed)."""
    g = Graph("gpuready_convnet", batch, 3, height, width)
    prev = "x"
    for i, ((cin, cout, stride), (w, b)) in enumerate(zip(layers, weights(layers))):
        wname, bname, conv, relu = "w%d" % i, "b%d" % i, "conv%d" % i, ("y" if i == len(layers) - 1 else "relu%d" % i)
        g.inits.append((wname, FLOAT, [cout, cin, 3, 3], struct.pack("<%df" % len(w), *w)))
        g.inits.append((bname, FLOAT, [cout], struct.pack("<%df" % len(b), *b)))
        attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [stride, stride]}
        g.nodes.append(("Conv", [prev, wname, bname], [conv], conv, attrs))
        g.nodes.append(("Relu", [conv], [relu], "r%d" % i, {}))
        prev = relu
    g.shape["y"] = output_shape(layers, batch, height, width)
    g.output("y")
    return g


def build(layers, batch, height, width, prefer_onnx=True):
    """The conv net: (serialized ModelProto, how it was built: "onnx.helper" or "builtin encoder")."""
    return conv_net(layers, batch, height, width).encode(prefer_onnx)


def build_with_onnx(layers, batch, height, width):
    return encode_with_onnx(conv_net(layers, batch, height, width))


def build_builtin(layers, batch, height, width):
    return encode_builtin(conv_net(layers, batch, height, width))


# --- with onnx.helper ---------------------------------------------------------------------------


def encode_with_onnx(graph):
    from onnx import helper

    nodes = [helper.make_node(op, ins, outs, name=name, **attrs) for op, ins, outs, name, attrs in graph.nodes]
    inits = [helper.make_tensor(name, dtype, dims, raw, raw=True) for name, dtype, dims, raw in graph.inits]
    inputs = [helper.make_tensor_value_info(n, t, d) for n, t, d in graph.inputs]
    outputs = [helper.make_tensor_value_info(n, t, d) for n, t, d in graph.outputs]
    g = helper.make_graph(nodes, graph.name, inputs, outputs, inits)
    model = helper.make_model(g, producer_name="gpuready", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model.SerializeToString()


# --- builtin protobuf encoder -------------------------------------------------------------------


def _varint(n):
    n &= (1 << 64) - 1  # int64 two's complement, as protobuf writes a negative value
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


def _float(field, value):
    return _key(field, 5) + struct.pack("<f", value)


def _bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, 2) + _varint(len(data)) + data


def _attr(name, value):
    # AttributeProto: name=1, f=2, i=3, s=4, floats=7, ints=8 (proto2: repeated, not packed), type=20
    if isinstance(value, bool) or isinstance(value, int):
        return _bytes(1, name) + _int(3, int(value)) + _int(20, ATTR_INT)
    if isinstance(value, float):
        return _bytes(1, name) + _float(2, value) + _int(20, ATTR_FLOAT)
    if isinstance(value, str):
        return _bytes(1, name) + _bytes(4, value) + _int(20, ATTR_STRING)
    values = list(value)
    if values and all(isinstance(v, float) for v in values):
        return _bytes(1, name) + b"".join(_float(7, v) for v in values) + _int(20, ATTR_FLOATS)
    return _bytes(1, name) + b"".join(_int(8, v) for v in values) + _int(20, ATTR_INTS)


def _node(inputs, outputs, name, op_type, attrs):
    # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5 (onnx.helper sorts them by name)
    body = b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
    body += _bytes(3, name) + _bytes(4, op_type) + b"".join(_bytes(5, _attr(k, attrs[k])) for k in sorted(attrs))
    return body


def _tensor(name, data_type, dims, raw):
    # TensorProto: dims=1, data_type=2, name=8, raw_data=9
    return b"".join(_int(1, d) for d in dims) + _int(2, data_type) + _bytes(8, name) + _bytes(9, raw)


def _value_info(name, data_type, dims):
    # ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{dim_value=1}}}}}
    shape = b"".join(_bytes(1, _int(1, d)) for d in dims)
    tensor = _int(1, data_type) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor))


def encode_builtin(graph):
    # GraphProto: node=1, name=2, initializer=5, input=11, output=12
    body = b"".join(_bytes(1, _node(ins, outs, name, op, attrs)) for op, ins, outs, name, attrs in graph.nodes)
    body += _bytes(2, graph.name)
    body += b"".join(_bytes(5, _tensor(*t)) for t in graph.inits)
    body += b"".join(_bytes(11, _value_info(*v)) for v in graph.inputs)
    body += b"".join(_bytes(12, _value_info(*v)) for v in graph.outputs)
    # ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8{domain=1, version=2}
    return _int(1, IR_VERSION) + _bytes(2, "gpuready") + _bytes(7, body) + _bytes(8, _bytes(1, "") + _int(2, OPSET))


def input_batch(batch, height, width, seed=1, channels=3, fp16=False):
    """A deterministic input in [0, 1), as a numpy array (N, C, H, W), float32 (or float16)."""
    import numpy as np

    x = np.random.default_rng(seed).random((batch, channels, height, width), dtype=np.float32)
    return x.astype(np.float16) if fp16 else x
