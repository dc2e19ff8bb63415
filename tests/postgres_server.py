"""A real PostgreSQL server for the tests: a throwaway cluster from Debian's server binaries
(`postgresql`, which .ci/run installs), on a Unix socket of its own, gone when the tests end.

PostgreSQL refuses to run as root, so as root (CI) the cluster is made and run by the `postgres`
user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "effekt_test"


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (initdb, pg_ctl), if any."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    return Path(found[-1]).parent if found else None


def _major(path: str) -> int:
    return int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0


@dataclass
class PostgresServer:
    root: Path
    bin: Path
    port: int = 5432

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def dsn(self, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user={user} dbname={dbname}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.root / "data"), "-U", SUPERUSER, "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            os.chown(self.socket_dir, user.pw_uid, user.pw_gid)
        options = (f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer | None:
    """A new cluster in a folder of its own (readable by the postgres user), or None when no
    PostgreSQL server is installed."""
    binaries = server_binaries()
    if binaries is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="effekt-postgres-"))
    return PostgresServer(root, binaries).start()
