"""The image: the Dockerfile's stages (builder, a small non-root runtime with both binaries in
/usr/local/bin) and what .dockerignore lets into the build context."""
import os
import re
import subprocess

from checks.report import Result

# Files no build context should carry (build output, secrets, logs, git).
NEVER_SENT = ("target/release/sluice-api", ".env", "api/target/x", "run.log", ".git/HEAD", ".run/x")


def dockerfile(text):
    problems = []
    lines = [ln.strip() for ln in re.sub(r"\\\n", " ", text).splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    if len(froms) < 2 or not re.match(r"FROM rust:[\w.-]*bookworm AS builder", froms[0], re.I):
        problems.append("want a `FROM rust:...bookworm AS builder` stage first")
    if not re.search(r"(distroless/cc-debian12|debian:bookworm-slim)", froms[-1]):
        problems.append("runtime stage must be distroless/cc-debian12 or debian:bookworm-slim")
    final = lines[lines.index(froms[-1]):]
    users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
        problems.append("runtime stage must end as a numeric non-root USER")
    build = " ".join(ln for ln in lines if "cargo build" in ln)
    if not all(x in build for x in ("--release", "--locked", "-p sluice-api", "-p sluice-worker")):
        problems.append("cargo build --release --locked -p sluice-api -p sluice-worker expected")
    copies = " ".join(ln for ln in final if ln.upper().startswith("COPY"))
    for b in ("sluice-api", "sluice-worker"):
        if b not in copies:
            problems.append(f"runtime stage does not copy {b}")
    if "/usr/local/bin/" not in copies:
        problems.append("binaries must land in /usr/local/bin (the manifests call them there)")
    return Result("Dockerfile: multi-stage, both binaries, non-root", problems,
                  f"{froms[0].split()[1]} -> {froms[-1].split()[1]}, USER {users[-1] if users else '?'}")


def dockerignore_matcher(lines):
    """path -> excluded?, by Docker's rules: patterns anchored at the context root, `**`, the
    last matching pattern wins, `!` re-includes, a directory's exclusion covers its files."""
    pats = []
    for raw in lines:
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        neg = s.startswith("!")
        s = (s[1:] if neg else s).strip("/")
        pats.append((neg, re.compile(_glob_regex(s) + r"\Z")))

    def excluded(path):
        parts = path.split("/")
        prefixes = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]
        result = False
        for neg, rx in pats:
            if any(rx.match(p) for p in prefixes):
                result = not neg
        return result
    return excluded


def _glob_regex(s):
    rx, i = "", 0
    while i < len(s):
        if s.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
        elif s.startswith("**", i):
            rx += ".*"
            i += 2
        elif s[i] == "*":
            rx += "[^/]*"
            i += 1
        elif s[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(s[i])
            i += 1
    return rx


def workspace_members(cargo_toml):
    return re.findall(r'"([^"]+)"', re.search(r"members\s*=\s*\[([^\]]*)\]", cargo_toml).group(1))


def dockerignore(ignore_lines, files, members):
    """`files` are the tracked files; cargo needs the manifests, the lock file, migrations and
    every member's Cargo.toml and src/."""
    problems = []
    excluded = dockerignore_matcher(ignore_lines)
    needed = ["Cargo.toml", "Cargo.lock"] + [f for f in files if f.startswith("migrations/")]
    for m in members:
        mine = [f for f in files if f.startswith(m + "/") and (f == f"{m}/Cargo.toml" or f.startswith(f"{m}/src/"))]
        if f"{m}/Cargo.toml" not in mine:
            problems.append(f"workspace member {m} has no tracked Cargo.toml")
        needed += mine
    for f in needed:
        if excluded(f):
            problems.append(f"{f} is excluded from the build context, but cargo needs it")
    for f in NEVER_SENT:
        if not excluded(f):
            problems.append(f"{f} would be sent to the build context")
    sent = [f for f in files if not excluded(f)]
    return Result(".dockerignore: every workspace member in, nothing else", problems,
                  f"{len(sent)} of {len(files)} tracked files in the context, members {', '.join(members)}")


def check(root):
    """Both checks on the repository's files (the tracked ones, as `git ls-files` lists them)."""
    def read(name):
        with open(os.path.join(root, name)) as f:
            return f.read()
    yield dockerfile(read("Dockerfile"))
    files = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    yield dockerignore(read(".dockerignore").splitlines(), files, workspace_members(read("Cargo.toml")))
