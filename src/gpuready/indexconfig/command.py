"""`gpuready config`: gpuready's own settings (set/get/unset), and `show`: every index setting in force.

`show` answers "why does gpuready (or pip, or uv) use that index?": each value with the file or
variable it came from, read exactly as pip, uv and conda read them.
"""

from __future__ import annotations

import sys

import click

from gpuready.report.jsonout import dumps
from gpuready.indexconfig import settings


class _BadValue(click.ClickException):
    exit_code = 2


def _fail(exc: settings.SettingsError) -> click.ClickException:
    """A bad key or value is bad usage (exit 2); a settings file that cannot be read or written, exit 1."""
    return _BadValue(str(exc)) if exc.usage else click.ClickException(str(exc))


@click.group(name="config")
def config() -> None:
    """gpuready's own settings, and the package-index settings in force (`config show`).

    \b
    Keys:
      torch-mirror  mirror of the PyTorch wheel index, used by plan, install, download,
                    doctor and explain: an index copy of https://download.pytorch.org/whl
                    (`URL/cu128` is an index) or one find-links page (`.../torch_stable.html`).
                    Overridden by GPUREADY_TORCH_MIRROR and by --mirror.
    The file: GPUREADY_CONFIG_DIR/config.toml, else the user config folder (see `config show`).
    """


@config.command(name="set")
@click.argument("key")
@click.argument("value")
def set_cmd(key: str, value: str) -> None:
    """Set KEY to VALUE in gpuready's settings file."""
    try:
        path = settings.set_value(key, value)
    except settings.SettingsError as exc:
        raise _fail(exc) from None
    click.echo(f"{key} = {value}  (in {path})")
    if key == "torch-mirror":
        _describe_mirror(value)


def _describe_mirror(value: str) -> None:
    from gpuready.indexconfig import insecure_host, pytorch

    torch = pytorch.from_setting(value, "setting")
    if torch.style == "find-links":
        click.echo(f"find-links page: every PyTorch build is looked up on {torch.base} (pip/uv --find-links)")
    else:
        flag, url = torch.source("cu128")
        click.echo(f"index mirror: a CUDA 12.8 build comes from {url} ({flag})")
    host = insecure_host(torch.base)
    if host:
        click.echo(f"plain http: gpuready adds --trusted-host {host} to pip commands (pip ignores such an index otherwise)")
    if settings.get("torch-mirror")[1] == settings.KEYS["torch-mirror"].env:
        click.echo(f"note: {settings.KEYS['torch-mirror'].env} is set in this shell and wins over the file", err=True)


@config.command(name="get")
@click.argument("key")
def get_cmd(key: str) -> None:
    """Print KEY's value (from its environment variable, else the settings file); exit 1 when unset."""
    try:
        settings._key(key)
        value, where = settings.get(key)
        settings.load()  # a broken file is an error, not "unset"
    except settings.SettingsError as exc:
        raise _fail(exc) from None
    if not value:
        click.echo(f"{key} is not set", err=True)
        sys.exit(1)
    click.echo(value)
    click.echo(f"(from {where})", err=True)


@config.command(name="unset")
@click.argument("key")
def unset_cmd(key: str) -> None:
    """Remove KEY from gpuready's settings file."""
    try:
        path, had = settings.unset(key)
    except settings.SettingsError as exc:
        raise _fail(exc) from None
    click.echo(f"{key} removed from {path}" if had else f"{key} was not set in {path}")
    env = settings.KEYS[key.strip().lower().replace("_", "-")].env
    import os

    if os.environ.get(env):
        click.echo(f"note: {env} is still set in this shell and is used", err=True)


@config.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@click.option("--python", "python", metavar="PATH", help="For installing into this interpreter (its pip.conf counts).")
def show_cmd(as_json: bool, python: str | None) -> None:
    """Every package-index setting in force here, and where each comes from (pip, uv, conda, gpuready)."""
    from gpuready.indexconfig import read_index_config, uv_available
    from gpuready.indexconfig.condarc import read_conda_channels
    from gpuready.indexconfig.pipconfig import read_pip_settings
    from gpuready.indexconfig.uvconfig import read_uv_settings

    prefix = _prefix_of(python) if python else None
    pip = read_pip_settings(prefix=prefix)
    uv = read_uv_settings()
    conda = read_conda_channels()
    idx = read_index_config(prefix=prefix)
    try:
        gp = settings.load()
        gp_error = ""
    except settings.SettingsError as exc:
        gp, gp_error = {}, str(exc)
    data = {
        "effective": {**idx.to_dict(), "notes": list(idx.notes)},
        "pip": {
            "index_url": pip.index_url, "extra_index_urls": list(pip.extra_index_urls), "find_links": list(pip.find_links),
            "trusted_hosts": list(pip.trusted_hosts), "no_index": pip.no_index, "origins": dict(pip.origins),
            "files": [{"kind": f.kind, "path": f.path, "exists": f.exists} for f in pip.files], "errors": list(pip.errors),
        },
        "uv": {
            "available": uv_available(), "default_index": uv.default_index, "default_origin": uv.default_origin,
            "indexes": [{"url": i.url, "name": i.name, "origin": i.origin} for i in uv.indexes],
            "explicit_indexes": [{"url": i.url, "name": i.name, "origin": i.origin} for i in uv.explicit],
            "find_links": list(uv.find_links), "no_index": uv.no_index, "index_strategy": uv.index_strategy,
            "insecure_hosts": list(uv.insecure_hosts), "files": list(uv.files), "errors": list(uv.errors + uv.warnings),
        },
        "conda": {"channels": [{"name": n, "url": u} for n, u in conda.channels], "files": list(conda.files)},
        "gpuready": {"file": str(settings.settings_file()), "settings": gp, "error": gp_error or None},
    }
    if as_json:
        click.echo(dumps("config", data))
        return
    eff = data["effective"]
    click.echo(f"gpuready uses {eff['settings_of']}'s settings:")
    click.echo(f"  index          {eff['index_url'] or 'https://pypi.org/simple (PyPI)'}"
               + (f"  (from {eff['index_origin']})" if eff["index_origin"] else ""))
    for u in eff["extra_index_urls"]:
        click.echo(f"  extra index    {u}")
    for u in eff["find_links"]:
        click.echo(f"  find-links     {u}")
    for h in eff["trusted_hosts"]:
        click.echo(f"  trusted host   {h}")
    if eff["no_index"]:
        click.echo("  no-index       yes (find-links only)")
    click.echo(f"  PyTorch        {eff['pytorch_index']}  ({eff['pytorch_style']}, from {eff['pytorch_origin']})")
    for n in eff["notes"]:
        click.echo(f"  note: {n}")
    click.echo("pip (`pip install`) reads:")
    for f in pip.files:
        click.echo(f"  {f.kind:<6} {f.path}" + ("" if f.exists else "  (absent)"))
    for dest, where in pip.origins.items():
        click.echo(f"  {dest} <- {where}")
    for e in pip.errors:
        click.echo(f"  error: {e}")
    click.echo("uv (`uv pip install`) " + ("is installed" if uv_available() else "is not installed") + ", reads:")
    for f in uv.files or ("(no configuration file)",):
        click.echo(f"  {f}")
    click.echo(f"  default index  {uv.default_index or '(none: no-index)'}" + (f"  (from {uv.default_origin})" if uv.default_origin else ""))
    for i in uv.indexes:
        click.echo(f"  index          {i.url}  (from {i.origin})")
    for u in uv.find_links:
        click.echo(f"  find-links     {u}")
    click.echo(f"  index-strategy {uv.index_strategy}")
    for e in uv.errors + uv.warnings:
        click.echo(f"  note: {e}")
    if conda.files:
        click.echo("conda channels: " + ", ".join(u for _, u in conda.channels) + "  (from " + ", ".join(conda.files) + ")")
    click.echo(f"gpuready settings: {settings.settings_file()}" + ("" if gp else "  (none set)"))
    for k, v in gp.items():
        click.echo(f"  {k} = {v}")
    if gp_error:
        click.echo(f"  error: {gp_error}")


def _prefix_of(python: str) -> str:
    from gpuready.proc import run

    res = run([python, "-c", "import sys; print(sys.prefix)"], timeout=30)
    if not res.ok or not res.stdout.strip():
        raise _BadValue(f"--python {python}: cannot run that interpreter")
    return res.stdout.strip().splitlines()[-1]
