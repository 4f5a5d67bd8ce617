"""Entry point of a verify/bench child: `python gpuready_child.py MODE NAME PARAMS_JSON`.

MODE is "verify" or "bench", NAME a framework's import name ("torch", "cv2"), PARAMS a JSON
object (tolerance, sizes, model and image paths, modules to import first). Runs in the
interpreter being verified, with the standard library, numpy and the framework only.

Like a real program, it imports numpy (and torch, when installed) before the framework under
test: an extension linked against its own static libstdc++ crashes only then (see
shared/reference/gpu-machine.md). Whatever happens, the last stdout line is MARK + JSON,
unless the process is killed; the parent turns a missing line into a crash or hang verdict.
"""

import builtins
import importlib
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gr_common  # noqa: E402
from gr_common import MARK, Ctx, Skip, error_text  # noqa: E402



FIXES = {
    "face_recognition_models": "pip install face_recognition_models (a 100 MB sdist: face_recognition loads its models at import)",
    "pkg_resources": "pip install 'setuptools<82' (face_recognition_models imports pkg_resources, which setuptools 82 removed)",
}


def _refuse_quit(*_args, **_kwargs):
    # face_recognition calls quit() (exit status 0) when face_recognition_models fails to import:
    # find out why, so the verdict names the real cause.
    why = "face_recognition_models fails to import"
    try:
        import face_recognition_models  # noqa: F401
    except BaseException as exc:
        why = "import face_recognition_models: " + error_text(exc).splitlines()[0]
        missing = getattr(exc, "name", "") or ""
        if missing in FIXES:
            _refuse_quit.fix = FIXES[missing]
    raise RuntimeError("the package called quit() while importing (%s)" % why)


def preload(ctx, modules):
    for mod in modules:
        if mod == ctx.name or not mod:
            continue
        with ctx.step("import %s (imported first, as real programs do)" % mod):
            try:
                m = importlib.import_module(mod)
                ctx.out["preloaded"].append(("%s %s" % (mod, getattr(m, "__version__", ""))).strip())
                ctx.say("preloaded: " + ctx.out["preloaded"][-1])  # the parent needs it if we die later
            except Exception as exc:  # a missing numpy is not this framework's failure
                ctx.note("could not import %s first: %s" % (mod, error_text(exc).splitlines()[0]))


def run(ctx):
    builtins.quit = builtins.exit = _refuse_quit
    module = importlib.import_module(ctx.params["workload"])
    preload(ctx, ctx.params.get("preload", []))
    try:
        with ctx.step("import %s" % ctx.name):
            if ctx.name == "tensorflow":
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
            fw = importlib.import_module(ctx.name)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top == ctx.name:
            ctx.out["status"] = "not_installed"
            ctx.out["message"] = "%s is not installed in %s" % (ctx.name, sys.executable)
            return
        ctx.out["status"] = "import_error"
        ctx.out["error"] = error_text(exc)
        ctx.out["message"] = "import %s failed: %s" % (ctx.name, error_text(exc).splitlines()[0])
        return
    except BaseException as exc:  # OSError from a missing .so, RuntimeError from quit(), ...
        if getattr(_refuse_quit, "fix", ""):
            ctx.out["fix"] = _refuse_quit.fix
        ctx.out["status"] = "import_error"
        ctx.out["error"] = error_text(exc)
        ctx.out["message"] = "import %s failed: %s" % (ctx.name, error_text(exc).splitlines()[0])
        return
    # face_recognition's __version__ (1.2.3) lags its release (1.3.0): the distribution's is the one users see.
    dist = gr_common.dist_version(ctx.name, ctx.name.replace("_", "-")) if ctx.name == "face_recognition" else ""
    ctx.out["version"] = str(dist or getattr(fw, "__version__", "") or gr_common.dist_version(ctx.name.replace("_", "-"), ctx.name))
    try:
        if ctx.mode == "bench":
            module.bench(ctx, fw)
        else:
            module.verify(ctx, fw)
    except Skip:
        return
    except Exception as exc:
        ctx.out["status"] = "failed"
        ctx.out["error"] = error_text(exc)
        ctx.out["traceback"] = traceback.format_exc()[-3000:]
        where = " during %s" % ctx.current if ctx.current else ""
        ctx.out["message"] = "%s raised%s: %s" % (ctx.name, where, error_text(exc).splitlines()[0])
        return
    if not ctx.out["status"]:
        failed = [c for c in ctx.out["checks"] if not c["ok"]]
        if failed:
            ctx.out["status"] = "wrong"
            ctx.out["message"] = "; ".join("%s: %s" % (c["name"], c["detail"]) for c in failed)
        else:
            ctx.out["status"] = "works"
            if ctx.mode == "bench":
                ctx.out["message"] = "timed %d workload(s) on %s" % (len(ctx.out["rows"]), ctx.out["device"] or "the GPU")


def main():
    mode, name = sys.argv[1], sys.argv[2]
    params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    ctx = Ctx(name, mode, params)
    workload = params.get("workload") or ""
    if not (workload.startswith("wl_") and workload[3:].replace("_", "").isalnum()
            and os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(__file__)), workload + ".py"))):
        ctx.out["status"] = "failed"
        ctx.out["message"] = "no workload for %r" % name
    else:
        try:
            run(ctx)
        except BaseException as exc:  # never leave without the result line
            ctx.out["status"] = ctx.out["status"] or "failed"
            ctx.out["error"] = error_text(exc)
            ctx.out["message"] = ctx.out["message"] or "child failed: %s" % error_text(exc).splitlines()[0]
    sys.stdout.write("\n" + MARK + json.dumps(ctx.out) + "\n")
    sys.stdout.flush()
    # Normal interpreter teardown follows: a framework that crashes or hangs in its exit
    # handlers is reported by the parent as such, next to the verdict printed above.


if __name__ == "__main__":
    main()
