"""The per-user lock directory that serialises token requests (rotation, the shared access token) on one host.

A world-writable ``/tmp`` directory shared by every local user would let another account create,
hold or swap the lock files (delaying or racing rotations); so the folder is the user's own:
created ``0700``, refused when it is a symlink or belongs to someone else, tightened when its mode
is too open. ``$OKTA_SALESFORCE_LOCK_DIR`` overrides the location (a path on local disk).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from okta_salesforce.hooks.salesforce_token_store import fingerprint

LOCK_DIR_ENV = "OKTA_SALESFORCE_LOCK_DIR"


class UnsafeLockDirectoryError(RuntimeError):
    """The lock directory exists but is not a private directory of this user."""


def lock_directory() -> Path:
    """The private lock folder (created ``0700`` when missing, checked when present)."""
    configured = os.environ.get(LOCK_DIR_ENV)
    default = Path(tempfile.gettempdir()) / f"okta-salesforce-locks-{os.getuid()}"
    directory = Path(configured) if configured else default
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700, parents=True)
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeLockDirectoryError(f"The lock directory {directory} is not a directory (a symlink?).")
    if info.st_uid != os.getuid():
        raise UnsafeLockDirectoryError(
            f"The lock directory {directory} belongs to user id {info.st_uid}, not to this user "
            f"({os.getuid()}): remove it or set ${LOCK_DIR_ENV} to a private folder."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(directory, 0o700)
    return directory


def lock_path(conn_id: str, purpose: str = "") -> str:
    """The lock file of one connection (named by a fingerprint, not the connection id).

    :param purpose: a second lock of the same connection (``access``: getting the shared access
        token), so that holding one never blocks on the other.
    """
    suffix = f".{purpose}" if purpose else ""
    return str(lock_directory() / f"{fingerprint(conn_id)}{suffix}.lock")
