"""Keyed pseudonyms for CPR numbers: HMAC-SHA256 with a secret the operator supplies.

The pseudonym is stable for a key, so a citizen's history links across deliveries, and cannot be
reversed or recomputed without the key. The key never enters SQL, so it cannot leak into dbt's
compiled files or logs. Without a key the pipeline refuses to start.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from orchestration.settings import Settings

MIN_KEY_BYTES = 16


class MissingPseudonymKey(RuntimeError):
    """No usable pseudonymisation key: the pipeline must not start."""


def load_key(settings: Settings) -> bytes:
    """The key from EFFEKT_PSEUDONYM_KEY, the file EFFEKT_PSEUDONYM_KEY_FILE names, or the data
    folder's own secrets/pseudonym.key, in that order."""
    folder_key = settings.demo_key_file
    if settings.pseudonym_key:
        key = settings.pseudonym_key.encode("utf-8")
        source = "EFFEKT_PSEUDONYM_KEY"
    elif settings.pseudonym_key_file or folder_key.is_file():
        path = settings.pseudonym_key_file or folder_key
        try:
            key = path.read_bytes().strip()
        except OSError as e:
            raise MissingPseudonymKey(f"the key file {path} cannot be read: {e.strerror}") from None
        source = str(path)
    else:
        raise MissingPseudonymKey(
            "No pseudonymisation key. Looked in EFFEKT_PSEUDONYM_KEY (not set), "
            f"EFFEKT_PSEUDONYM_KEY_FILE (not set) and {folder_key} (no such file). Set "
            f"EFFEKT_PSEUDONYM_KEY to a secret of at least {MIN_KEY_BYTES} bytes, or "
            "EFFEKT_PSEUDONYM_KEY_FILE to a file holding one (readable by the pipeline only). "
            "Keep it: a new key gives every citizen a new pseudonym, which breaks their history."
        )
    if len(key) < MIN_KEY_BYTES:
        raise MissingPseudonymKey(f"the key from {source} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def create_demo_key(path: Path) -> bool:
    """Write a random key readable by the owner only, unless one exists. True if created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return True


def pseudonymise(key: bytes, cprs: list[str]) -> list[str]:
    """HMAC-SHA256 of each normalised CPR number (digits only), as 64 hex characters."""
    return [hmac.new(key, c.replace("-", "").encode(), hashlib.sha256).hexdigest() for c in cprs]
