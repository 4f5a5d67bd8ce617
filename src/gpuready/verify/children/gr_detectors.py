"""Two object detectors at their real layer shapes, built as ONNX graphs in-process (gr_onnx.Graph).

What people quote when they ask "how much faster is OpenCV dnn / ONNX Runtime on the GPU" is a
detector, not a toy conv net. The weights are random (nothing to download, the same every run);
the work per frame is the real one, because it is set by the layer shapes alone:

- `ssd`: MobileNet-SSD v1, 300x300, 21 classes (the Caffe MobileNetSSD_deploy model OpenCV's dnn
  samples run): a MobileNet v1 backbone (depthwise-separable convolutions, BatchNorm folded into
  the convolutions, ReLU), four extra feature layers, and 1x1 loc/conf heads on six feature maps
  (19x19 ... 1x1) with 3 or 6 priors per cell: 1917 boxes, then Flatten + Concat + Softmax as in
  the original. Prior-box decoding and NMS (DetectionOutput) are post-processing and left out.
- `yolo`: YOLOv8n, 640x640, 80 classes (Ultralytics' yolov8n.yaml, width 0.25, depth 0.33):
  Conv+SiLU, C2f blocks with Split, SPPF, the PAN neck with nearest Resize and Concat, and the
  decoupled head (box 4x16 DFL channels, class 80 channels) on 80x80, 40x40 and 20x20: 8400
  anchors, output (N, 144, 8400) with the class scores through Sigmoid. The DFL softmax, the
  anchor-grid decode and NMS are left out (a few MFLOPs, usually done on the host).
  Its FLOPs (8.7 G per 640x640 frame) match Ultralytics' published figure for yolov8n.
"""

import gr_onnx

SSD_ANCHORS = 1917
YOLO_ANCHORS = 8400


def ssd_mobilenet(batch=1, size=300, classes=21, fp16=False):
    g = gr_onnx.Graph("gpuready_ssd_mobilenet_v1", batch, 3, size, size, fp16=fp16)
    x = g.conv("x", 32, 3, 2)
    # (pointwise out channels, depthwise stride) of MobileNet v1's 13 separable blocks
    blocks = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
              (1024, 2), (1024, 1))
    maps = []
    for i, (cout, stride) in enumerate(blocks):
        cin = g.shape[x][1]
        x = g.conv(x, cin, 3, stride, groups=cin)  # depthwise
        x = g.conv(x, cout, 1)  # pointwise
        if i in (10, 12):  # conv11 (19x19x512) and conv13 (10x10x1024) feed the heads
            maps.append(x)
    for squeeze, cout in ((256, 512), (128, 256), (128, 256), (64, 128)):  # conv14..conv17
        x = g.conv(x, squeeze, 1)
        x = g.conv(x, cout, 3, 2)
        maps.append(x)
    locs, confs = [], []
    for i, fmap in enumerate(maps):
        priors = 3 if i == 0 else 6
        for out, size_per_prior in ((locs, 4), (confs, classes)):
            head = g.conv(fmap, priors * size_per_prior, 1, 1, act=None)
            out.append(g.flatten(g.transpose(head, (0, 2, 3, 1)), 1))
    anchors = sum(g.shape[f][2] * g.shape[f][3] * (3 if i == 0 else 6) for i, f in enumerate(maps))
    loc = g.reshape(g.concat(locs, 1), [batch, anchors, 4])
    conf = g.softmax(g.reshape(g.concat(confs, 1), [batch, anchors, classes]), -1)
    g.output(loc)
    g.output(conf)
    g.anchors = anchors
    return g


def _c2f(g, x, cout, n, shortcut):
    """Ultralytics C2f: 1x1 conv to 2c, split, n bottlenecks (3x3, 3x3, + residual), concat, 1x1 conv."""
    c = cout // 2
    y = g.conv(x, 2 * c, 1, act="silu")
    parts = list(g.split(y, [c, c], 1))
    for _ in range(n):
        z = g.conv(g.conv(parts[-1], c, 3, act="silu"), c, 3, act="silu")
        parts.append(g.add(parts[-1], z) if shortcut else z)
    return g.conv(g.concat(parts, 1), cout, 1, act="silu")


def _sppf(g, x, cout):
    c = g.shape[x][1] // 2
    y = g.conv(x, c, 1, act="silu")
    pools = [y]
    for _ in range(3):
        pools.append(g.maxpool(pools[-1], 5, 1, 2))
    return g.conv(g.concat(pools, 1), cout, 1, act="silu")


def yolov8n(batch=1, size=640, classes=80, fp16=False, reg_max=16):
    g = gr_onnx.Graph("gpuready_yolov8n", batch, 3, size, size, fp16=fp16)
    silu = dict(act="silu")
    x = g.conv("x", 16, 3, 2, **silu)  # P1/2
    x = g.conv(x, 32, 3, 2, **silu)  # P2/4
    x = _c2f(g, x, 32, 1, True)
    x = g.conv(x, 64, 3, 2, **silu)  # P3/8
    p3 = _c2f(g, x, 64, 2, True)
    x = g.conv(p3, 128, 3, 2, **silu)  # P4/16
    p4 = _c2f(g, x, 128, 2, True)
    x = g.conv(p4, 256, 3, 2, **silu)  # P5/32
    x = _c2f(g, x, 256, 1, True)
    p5 = _sppf(g, x, 256)
    # neck (PAN)
    h4 = _c2f(g, g.concat([g.resize2x(p5), p4], 1), 128, 1, False)
    n3 = _c2f(g, g.concat([g.resize2x(h4), p3], 1), 64, 1, False)  # out P3 (80x80)
    n4 = _c2f(g, g.concat([g.conv(n3, 64, 3, 2, **silu), h4], 1), 128, 1, False)  # out P4 (40x40)
    n5 = _c2f(g, g.concat([g.conv(n4, 128, 3, 2, **silu), p5], 1), 256, 1, False)  # out P5 (20x20)
    # decoupled head
    c2 = max(16, g.shape[n3][1] // 4, reg_max * 4)
    c3 = max(g.shape[n3][1], min(classes, 100))
    boxes, scores = [], []
    for fmap in (n3, n4, n5):
        _n, _c, h, w = g.shape[fmap]
        box = g.conv(g.conv(g.conv(fmap, c2, 3, **silu), c2, 3, **silu), 4 * reg_max, 1, act=None)
        cls = g.conv(g.conv(g.conv(fmap, c3, 3, **silu), c3, 3, **silu), classes, 1, act=None)
        boxes.append(g.reshape(box, [batch, 4 * reg_max, h * w]))
        scores.append(g.reshape(cls, [batch, classes, h * w]))
    y = g.concat([g.concat(boxes, 2), g.sigmoid(g.concat(scores, 2))], 1)
    g.output(y)
    g.anchors = g.shape[y][2]
    return g


DETECTORS = {
    "ssd": ("SSD MobileNet v1", 300, ssd_mobilenet),
    "yolo": ("YOLOv8n", 640, yolov8n),
}


def build(kind, batch, size=None, fp16=False):
    """(Graph, display name, input size) of one detector; `size` overrides the real input size (tests)."""
    display, real, make = DETECTORS[kind]
    size = int(size or real)
    return make(batch=batch, size=size, fp16=fp16), display, size
