"""The shared layer: pinned, hash-checked aarch64/cp313 wheels plus our package, cached."""

from __future__ import annotations

import filecmp
from pathlib import Path

from infra.build_layer import (
    PACKAGE_NAME,
    build_layer,
    parse_lock,
    requirements_text,
    runtime_closure,
)
from infra.paths import LAYER_PYTHON_DIR, LOCK_FILE

LOCK = """\
pyjwt==2.15.1 \\
    --hash=sha256:aaa \\
    --hash=sha256:bbb
    # via realtime-admin-hub (pyproject.toml)
cryptography==50.0.2 \\
    --hash=sha256:ccc
    # via
    #   moto
    #   pyjwt
cffi==2.1.1 \\
    --hash=sha256:ddd
    # via cryptography
moto==5.2.5 \\
    --hash=sha256:eee
    # via realtime-admin-hub (pyproject.toml)
"""


def test_closure_follows_the_lock_from_pyjwt() -> None:
    closure = runtime_closure(parse_lock(LOCK))
    assert [(p.name, p.version) for p in closure] == [
        ("cffi", "2.1.1"),
        ("cryptography", "50.0.2"),
        ("pyjwt", "2.15.1"),
    ]
    text = requirements_text(closure)
    assert "pyjwt[crypto]==2.15.1 --hash=sha256:aaa --hash=sha256:bbb\n" in text
    assert "moto" not in text


def test_the_real_lock_pins_the_runtime_dependencies() -> None:
    names = {package.name for package in runtime_closure(parse_lock(LOCK_FILE.read_text()))}
    assert names == {"cffi", "cryptography", "pycparser", "pyjwt"}


def test_layer_holds_our_package_and_aarch64_cp313_wheels() -> None:
    layer = build_layer() / "python"
    assert (layer / "jwt" / "__init__.py").is_file()
    assert list(layer.glob("_cffi_backend.cpython-313-aarch64-linux-gnu.so"))
    assert list((layer / "cryptography" / "hazmat" / "bindings").glob("_rust.abi3.so"))
    assert not (layer / "bin").exists()  # console scripts with this machine's shebang
    assert not list(layer.rglob("__pycache__"))
    comparison = filecmp.dircmp(LAYER_PYTHON_DIR / PACKAGE_NAME, layer / PACKAGE_NAME, ignore=["__pycache__"])
    assert not (comparison.left_only or comparison.right_only or comparison.diff_files)


def test_an_unchanged_layer_is_not_rebuilt() -> None:
    first = build_layer()
    marker = first / "python" / PACKAGE_NAME / "__init__.py"
    before = marker.stat().st_mtime_ns
    assert build_layer() == first
    assert Path(marker).stat().st_mtime_ns == before
