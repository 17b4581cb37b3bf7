"""A Lambda-like Python environment: the runtime dependencies from src/requirements.txt (what the
layer holds) plus awslambdaric (what AWS's base image holds), and nothing of the development
environment. Cold starts measured in the project's own .venv would import what Lambda never
has (moto's, SAM's and the test tools' packages pull in awscrt, pyOpenSSL, cryptography ...).
"""

import hashlib
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = ROOT / "build" / "lambda-like"
BASELINE_EXTRAS = ["awslambdaric=={}".format(version("awslambdaric"))]


def _fingerprint() -> str:
    text = (ROOT / "src" / "requirements.txt").read_text() + "".join(BASELINE_EXTRAS) + sys.version
    return hashlib.sha256(text.encode()).hexdigest()


def lambda_like_python() -> str:
    """The interpreter of the Lambda-like environment, (re)built when the requirements changed."""
    python = ENVIRONMENT / "bin" / "python"
    stamp = ENVIRONMENT / ".fingerprint"
    if python.exists() and stamp.exists() and stamp.read_text() == _fingerprint():
        return str(python)
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(ENVIRONMENT)], check=True)
    uv = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", str(python)]
    subprocess.run([*uv, "--require-hashes", "-r", str(ROOT / "src" / "requirements.txt")], check=True)
    subprocess.run([*uv, *BASELINE_EXTRAS], check=True)
    stamp.write_text(_fingerprint())
    return str(python)
