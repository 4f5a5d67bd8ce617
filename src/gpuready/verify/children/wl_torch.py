"""PyTorch: a cuBLAS matmul and a cuDNN convolution on `cuda`, checked against the CPU; the GPU's
sm_XY in torch.cuda.get_arch_list()."""

import time

from gr_common import error_text


def _device(ctx, torch):
    cuda = getattr(torch.version, "cuda", None)
    hip = getattr(torch.version, "hip", None)
    if not cuda and not hip:
        ctx.cpu_only(
            "torch %s is a CPU-only build (torch.version.cuda is None)" % torch.__version__,
            evidence=["torch.version.cuda = None", "torch.__version__ = %s" % torch.__version__],
        )
    if not torch.cuda.is_available():
        why = ""
        try:
            torch.cuda.init()
        except Exception as exc:
            why = error_text(exc)
        ctx.no_gpu(
            "torch %s (CUDA %s) cannot use a GPU: torch.cuda.is_available() is False%s"
            % (torch.__version__, cuda or hip, (": " + why.splitlines()[0]) if why else ""),
            evidence=[why] if why else ["torch.cuda.device_count() = %d" % torch.cuda.device_count()],
        )
    major, minor = torch.cuda.get_device_capability(0)
    ctx.out["device"] = "%s (sm_%d%d)" % (torch.cuda.get_device_name(0), major, minor)
    return major, minor


def _arch_check(ctx, torch, major, minor):
    sm = "sm_%d%d" % (major, minor)
    archs = list(torch.cuda.get_arch_list() or [])
    if sm in archs:
        return ctx.check("%s in torch.cuda.get_arch_list()" % sm, True, " ".join(archs))
    ptx = [a for a in archs if a.startswith("compute_") and a[8:].isdigit() and int(a[8:]) <= major * 10 + minor]
    if ptx:
        ctx.note("%s is not in torch.cuda.get_arch_list() (%s): kernels are JIT-compiled from %s PTX at first use" % (sm, " ".join(archs), ptx[-1]))
        return ctx.check("%s code in torch" % sm, True, "through PTX %s" % ptx[-1])
    ctx.out["label"] = "arch_unsupported"
    ctx.evidence("torch.cuda.get_arch_list() = %s; this GPU is %s" % (" ".join(archs), sm))
    return ctx.check("%s in torch.cuda.get_arch_list()" % sm, False, "this torch carries %s only" % " ".join(archs))


def verify(ctx, torch):
    with ctx.step("find the CUDA device"):
        major, minor = _device(ctx, torch)
    _arch_check(ctx, torch, major, minor)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(512, 512, generator=gen)
    b = torch.randn(512, 512, generator=gen)
    with ctx.step("matmul 512x512 fp32 on cuda (cuBLAS)"):
        t0 = time.perf_counter()
        c = (a.to("cuda") @ b.to("cuda")).cpu()
        took = time.perf_counter() - t0
    ref = a @ b
    ctx.compare("matmul 512x512 fp32 (cuBLAS) vs CPU", (c - ref).abs().max().item(), ref.abs().max().item(), seconds=took)

    x = torch.randn(4, 16, 64, 64, generator=gen)
    w = torch.randn(32, 16, 3, 3, generator=gen)
    with ctx.step("cuDNN availability"):
        has_cudnn = bool(torch.backends.cudnn.is_available())
        version = torch.backends.cudnn.version() if has_cudnn else None
    if not ctx.check("cuDNN available", has_cudnn, "cuDNN %s" % version if version else "torch.backends.cudnn.is_available() is False"):
        ctx.out["label"] = ctx.out["label"] or "runtime_lib_missing"
        return
    with ctx.step("conv2d 4x16x64x64 * 32x16x3x3 fp32 on cuda (cuDNN %s)" % version):
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=False):
            t0 = time.perf_counter()
            y = torch.nn.functional.conv2d(x.to("cuda"), w.to("cuda"), padding=1).cpu()
            took = time.perf_counter() - t0
    ref = torch.nn.functional.conv2d(x, w, padding=1)
    ctx.compare("conv2d (cuDNN %s) vs CPU" % version, (y - ref).abs().max().item(), ref.abs().max().item(), seconds=took)


def bench(ctx, torch):
    p = ctx.params
    n = int(p.get("matmul_n", 4096))
    with ctx.step("find the CUDA device"):
        _device(ctx, torch)  # no GPU: the verdict is set and the bench stops here
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    with ctx.step("matmul %dx%d fp32 on the CPU" % (n, n)):
        cpu = ctx.timed(lambda: a @ b)
    with ctx.step("matmul %dx%d fp32 on cuda" % (n, n)):
        ga, gb = a.to("cuda"), b.to("cuda")
        gpu = ctx.timed(lambda: ga @ gb, sync=torch.cuda.synchronize)
    ctx.row("matmul %d fp32" % n, "TFLOP/s", 2.0 * n ** 3, cpu, gpu)
    if p.get("matmul_bf16", True):
        with ctx.step("matmul %dx%d bf16 on cuda" % (n, n)):
            ha, hb = ga.to(torch.bfloat16), gb.to(torch.bfloat16)
            gpu16 = ctx.timed(lambda: ha @ hb, sync=torch.cuda.synchronize)
        ctx.row("matmul %d bf16 (GPU only)" % n, "TFLOP/s", 2.0 * n ** 3, None, gpu16, "no CPU run: CPUs have no fast bf16 matmul; compare with the fp32 row")

    batch, ch, hw = int(p.get("conv_batch", 32)), int(p.get("conv_channels", 64)), int(p.get("conv_size", 56))
    x = torch.randn(batch, ch, hw, hw, generator=gen)
    w = torch.randn(ch, ch, 3, 3, generator=gen)
    conv = torch.nn.functional.conv2d
    with ctx.step("conv2d %dx%dx%dx%d 3x3 on the CPU" % (batch, ch, hw, hw)):
        with torch.no_grad():
            cpu = ctx.timed(lambda: conv(x, w, padding=1))
    with ctx.step("conv2d %dx%dx%dx%d 3x3 on cuda (cuDNN)" % (batch, ch, hw, hw)):
        gx, gw = x.to("cuda"), w.to("cuda")
        with torch.no_grad():
            gpu = ctx.timed(lambda: conv(gx, gw, padding=1), sync=torch.cuda.synchronize)
    ctx.row("conv2d 3x3 %dch %dx%d, batch %d" % (ch, hw, hw, batch), "images/s", batch, cpu, gpu,
            "%.1f GFLOP per batch" % (2.0 * batch * ch * ch * 9 * hw * hw / 1e9))
