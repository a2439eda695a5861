"""Build the shared Lambda layer asset in build/layer without Docker.

    python -m infra.build_layer [--force]

The layer holds our package (`realtime`) and the third-party packages that neither the
Lambda runtime (boto3) nor the Powertools public layer (pydantic, aws-xray-sdk) provide:
PyJWT with its `crypto` extra. Those come from PyPI as manylinux aarch64 wheels for
CPython 3.13 (the functions' runtime and architecture), pinned and hash-checked against
requirements.lock, whatever machine builds them.

Wheels are cached in build/layer-wheels and downloaded again only when their pins in the
lock change; the layer directory is rebuilt only when the pins or the package's sources
change, so a synth with nothing new does no work.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from infra.paths import BUILD_DIR, LAYER_BUILD_DIR, LAYER_PYTHON_DIR, LOCK_FILE

# What the layer adds to the runtime: the root requirement, as requirements.lock pins it.
ROOT_REQUIREMENT = "pyjwt"
ROOT_EXTRAS = "crypto"
# The Lambda runtime the wheels must run on (python3.13, arm64).
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
IMPLEMENTATION = "cp"

PACKAGE_NAME = "realtime"
WHEEL_CACHE_DIR = BUILD_DIR / "layer-wheels"
_WHEELS_STAMP = WHEEL_CACHE_DIR / ".stamp"
_LAYER_STAMP = BUILD_DIR / "layer.stamp"
_IGNORED_SOURCES = ("__pycache__", "*.pyc", "*.pyo")


class LayerBuildError(RuntimeError):
    pass


@dataclass
class LockedPackage:
    name: str
    version: str
    hashes: list[str] = field(default_factory=list)
    required_by: set[str] = field(default_factory=set)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, LockedPackage]:
    """Read a `uv pip compile --generate-hashes` file: pins, hashes and `# via` parents."""
    packages: dict[str, LockedPackage] = {}
    current: LockedPackage | None = None
    for line in text.splitlines():
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if pin:
            current = LockedPackage(_normalise(pin.group(1)), pin.group(2))
            packages[current.name] = current
        elif current is None:
            continue
        elif hashed := re.search(r"--hash=(\S+)", line):
            current.hashes.append(hashed.group(1))
        elif (via := re.match(r"^\s+#\s+(?:via\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)", line)) and via.group(1) != "via":
            current.required_by.add(_normalise(via.group(1)))
    return packages


def runtime_closure(packages: dict[str, LockedPackage], root: str = ROOT_REQUIREMENT) -> list[LockedPackage]:
    """The root and everything the lock says it pulls in, directly or not."""
    if root not in packages:
        raise LayerBuildError(f"{root} is not pinned in {LOCK_FILE.name}")
    closure = {root}
    grew = True
    while grew:
        grew = False
        for package in packages.values():
            if package.name not in closure and package.required_by & closure:
                closure.add(package.name)
                grew = True
    return sorted((packages[name] for name in closure), key=lambda package: package.name)


def requirements_text(closure: Iterable[LockedPackage]) -> str:
    lines = []
    for package in closure:
        if not package.hashes:
            raise LayerBuildError(f"{package.name} has no hashes in {LOCK_FILE.name}")
        name = f"{package.name}[{ROOT_EXTRAS}]" if package.name == ROOT_REQUIREMENT else package.name
        hashes = " ".join(f"--hash={digest}" for digest in package.hashes)
        lines.append(f"{name}=={package.version} {hashes}")
    return "\n".join(lines) + "\n"


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _source_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
    )


def _sources_digest(root: Path) -> str:
    parts: list[bytes] = []
    for path in _source_files(root):
        parts += [path.relative_to(root).as_posix().encode(), path.read_bytes()]
    return _digest(*parts)


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise LayerBuildError(f"pip {args[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


_TARGET_OPTIONS = (
    f"--platform={PLATFORM}",
    f"--python-version={PYTHON_VERSION}",
    f"--implementation={IMPLEMENTATION}",
    "--only-binary=:all:",
    "--require-hashes",
)


def download_wheels(requirements: Path, stamp: str, *, force: bool = False) -> None:
    """Fetch the pinned wheels into the cache, unless the cache already holds these pins."""
    if not force and _WHEELS_STAMP.is_file() and _WHEELS_STAMP.read_text() == stamp:
        return
    shutil.rmtree(WHEEL_CACHE_DIR, ignore_errors=True)
    WHEEL_CACHE_DIR.mkdir(parents=True)
    _pip("download", "--quiet", f"--dest={WHEEL_CACHE_DIR}", f"--requirement={requirements}", *_TARGET_OPTIONS)
    _WHEELS_STAMP.write_text(stamp)


def assemble_layer(requirements: Path) -> None:
    """Install the cached wheels and copy our package into a fresh build/layer/python."""
    staging = BUILD_DIR / "layer.staging"
    shutil.rmtree(staging, ignore_errors=True)
    site_packages = staging / "python"
    _pip(
        "install",
        "--quiet",
        "--no-index",
        f"--find-links={WHEEL_CACHE_DIR}",
        f"--target={site_packages}",
        "--no-compile",  # .pyc files from this machine's Python would be useless to 3.13
        f"--requirement={requirements}",
        *_TARGET_OPTIONS,
    )
    # Console scripts carry this machine's interpreter path in their shebang: useless in
    # Lambda, and they would make the asset's hash differ from one machine to the next.
    shutil.rmtree(site_packages / "bin", ignore_errors=True)
    shutil.copytree(
        LAYER_PYTHON_DIR / PACKAGE_NAME,
        site_packages / PACKAGE_NAME,
        ignore=shutil.ignore_patterns(*_IGNORED_SOURCES),
    )
    # Swap in the new layer whole, so an interrupted build never leaves half a layer behind.
    shutil.rmtree(LAYER_BUILD_DIR, ignore_errors=True)
    staging.rename(LAYER_BUILD_DIR)


def build_layer(*, force: bool = False) -> Path:
    """Make build/layer current and return it (a no-op when nothing changed)."""
    closure = runtime_closure(parse_lock(LOCK_FILE.read_text()))
    pins = requirements_text(closure)
    wheels_stamp = _digest(pins.encode(), PLATFORM.encode(), PYTHON_VERSION.encode())
    layer_stamp = _digest(wheels_stamp.encode(), _sources_digest(LAYER_PYTHON_DIR / PACKAGE_NAME).encode())
    if (
        not force
        and (LAYER_BUILD_DIR / "python" / PACKAGE_NAME).is_dir()
        and _LAYER_STAMP.is_file()
        and _LAYER_STAMP.read_text() == layer_stamp
    ):
        return LAYER_BUILD_DIR

    BUILD_DIR.mkdir(exist_ok=True)
    requirements = BUILD_DIR / "layer-requirements.txt"
    requirements.write_text(pins)
    download_wheels(requirements, wheels_stamp, force=force)
    assemble_layer(requirements)
    _LAYER_STAMP.write_text(layer_stamp)
    return LAYER_BUILD_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="download and rebuild even if nothing changed")
    args = parser.parse_args(argv)
    try:
        path = build_layer(force=args.force)
    except LayerBuildError as exc:
        print(f"layer build failed: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
