"""A rendered overlay split for the validators (built-in objects for kubernetes-validate, custom
resources against the strict schemas in deploy/k8s/schemas/), and the example Secret."""
import glob
import json
import os

import yaml

from checks.files import load, load_all, rel
from checks.report import Result


def is_builtin(doc):
    """A Kubernetes kind (core or *.k8s.io group), as opposed to a CRD's (keda.sh, monitoring...)."""
    api = doc.get("apiVersion", "")
    group = api.split("/")[0] if "/" in api else ""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def split(docs, outdir):
    """Writes builtin.yaml and custom.yaml into outdir."""
    with open(os.path.join(outdir, "builtin.yaml"), "w") as f:
        yaml.safe_dump_all([d for d in docs if is_builtin(d)], f, sort_keys=False)
    with open(os.path.join(outdir, "custom.yaml"), "w") as f:
        yaml.safe_dump_all([d for d in docs if not is_builtin(d)], f, sort_keys=False)


def custom_resources(name, docs, root):
    """Each custom resource against deploy/k8s/schemas/<kind>.<group>.<version>.json (strict: the
    schemas forbid unknown fields, so a misspelt key fails here and not in the cluster)."""
    # Only here: the other checks run without the check-deploy venv's jsonschema.
    from jsonschema import Draft202012Validator, FormatChecker

    problems, kinds = [], []
    for d in (d for d in docs if not is_builtin(d)):
        group, version = d["apiVersion"].split("/")
        schema_path = os.path.join(root, "deploy", "k8s", "schemas", f"{d['kind'].lower()}.{group}.{version}.json")
        what = f"{d['kind']}/{d.get('metadata', {}).get('name')}"
        if not os.path.exists(schema_path):
            problems.append(f"{what}: no schema {rel(schema_path, root)}")
            continue
        with open(schema_path) as f:
            validator = Draft202012Validator(json.load(f), format_checker=FormatChecker())
        for e in sorted(validator.iter_errors(d), key=lambda e: list(map(str, e.absolute_path))):
            path = "/".join(str(p) for p in e.absolute_path)
            line = f"{what} at /{path}: {e.message}"
            if line not in problems:
                problems.append(line)
        kinds.append(what)
    return Result(f"{name}: custom resources (strict schemas)", problems,
                  ", ".join(kinds) if kinds else "none in this overlay")


def secret_example(root):
    """deploy/k8s/base/secret.example.yaml: placeholders only, and applied by no kustomization
    (`apply -k` would overwrite the real credentials with them)."""
    k8s = os.path.join(root, "deploy", "k8s")
    problems = []
    docs = load_all(os.path.join(k8s, "base", "secret.example.yaml"))
    if len(docs) != 1 or docs[0]["kind"] != "Secret" or docs[0]["metadata"]["name"] != "sluice-secrets":
        problems.append("want exactly one Secret named sluice-secrets")
    elif set(docs[0].get("stringData", {})) != {"DATABASE_URL", "REDIS_URL", "SLUICE_SECRETS_KEY"}:
        problems.append("want stringData keys DATABASE_URL, REDIS_URL and SLUICE_SECRETS_KEY")
    elif not all("CHANGE-ME" in v for v in docs[0]["stringData"].values()):
        problems.append("values must be placeholders (CHANGE-ME)")
    for k in glob.glob(os.path.join(k8s, "**", "kustomization.yaml"), recursive=True):
        if "secret.example.yaml" in json.dumps(load(k).get("resources", [])):
            problems.append(f"{rel(k, root)} lists secret.example.yaml: apply -k would overwrite the real Secret")
    return Result("secret example", problems, "placeholders only, in no kustomization")
