"""The Kubernetes manifests (k8s/): every variant builds, validates offline against the Kubernetes API schemas,
and keeps the security settings of issue 7 (so they cannot regress).

The schemas come from npm's kubernetes-models (pinned by tests/deploy/k8s/package-lock.json), installed with
`npm ci` into the cache (~/.cache/smartvault/npm-k8s-<lock hash>), never into the repository. The kustomization
is assembled here (resources, components, strategic-merge patches, labels, images: what k8s/ uses); when a
kubectl is installed its `kubectl kustomize` output must be the same.
"""

import copy
import hashlib
import json
import os
import shutil
import subprocess

import pytest
import yaml

import cfn
from test_template import ENV_NAMES

K8S = os.path.join(cfn.REPO, "k8s")
VALIDATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "k8s")
VARIANTS = [None, "eks-irsa", "eks-pod-identity", "outside-aws", "sharded"]
PEAK_RSS_MIB = 16  # the cycle's measured peak RSS target (issue 7); the memory limit must leave headroom
AWS_SDK_ENV = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_EC2_METADATA_DISABLED", "AWS_CA_BUNDLE",
               "AWS_STS_REGIONAL_ENDPOINTS", "HTTPS_PROXY", "NO_PROXY"}


# ------------------------------------------------------------------------------------------------ kustomize subset


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def merge(base, patch):
    """Strategic merge as kustomize does it for these kinds: maps merge, lists of named items merge by name
    (containers, env), other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and patch and all(
            isinstance(i, dict) and "name" in i and set(i) - {"name"} for i in patch) and all(
            isinstance(i, dict) and "name" in i for i in base):
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            for i, existing in enumerate(out):
                if existing["name"] == item["name"]:
                    out[i] = merge(existing, item)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def apply_patches(docs, patches, root):
    for p in patches or []:
        body = yaml.safe_load(p["patch"]) if "patch" in p else load_docs(os.path.join(root, p["path"]))[0]
        hits = [i for i, d in enumerate(docs) if d["kind"] == body["kind"] and d["metadata"]["name"] ==
                body["metadata"]["name"]]
        assert len(hits) == 1, f"patch for {body['kind']}/{body['metadata']['name']} matches {len(hits)} objects"
        docs[hits[0]] = merge(docs[hits[0]], body)


def build(root, components=()):
    with open(os.path.join(root, "kustomization.yaml"), encoding="utf-8") as f:
        k = yaml.safe_load(f)
    docs = []
    for r in k.get("resources", []):
        path = os.path.join(root, r)
        docs += build(path) if os.path.isdir(path) else load_docs(path)
    apply_patches(docs, k.get("patches"), root)
    for c in list(k.get("components") or []) + list(components):
        with open(os.path.join(root, c, "kustomization.yaml"), encoding="utf-8") as f:
            comp = yaml.safe_load(f)
        assert comp["kind"] == "Component"
        apply_patches(docs, comp.get("patches"), os.path.join(root, c))
    for label in k.get("labels", []):
        assert not label.get("includeSelectors") and not label.get("includeTemplates")
        for d in docs:
            d["metadata"].setdefault("labels", {}).update(label["pairs"])
    for image in k.get("images", []):
        for d in docs:
            for c in pod_spec(d).get("containers", []) if d["kind"] == "CronJob" else []:
                if c["image"] == image["name"]:
                    c["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return docs


def variant_docs(variant):
    return build(K8S, [f"variants/{variant}"] if variant else [])


def kubectl_build(tmp_path, variant):
    """`kubectl kustomize` of k8s/ with the variant enabled, from a copy (k8s/ is not modified)."""
    root = tmp_path / "k8s"
    shutil.copytree(K8S, root)
    if variant:
        with open(root / "kustomization.yaml", "a", encoding="utf-8") as f:
            f.write(f"components:\n  - variants/{variant}\n")
    out = subprocess.run(["kubectl", "kustomize", str(root)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def pod_spec(cronjob):
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def by_kind(docs):
    out = {d["kind"]: d for d in docs}
    assert len(out) == len(docs), "one object per kind expected"
    return out


# ------------------------------------------------------------------------------------------------ schema validation


def cache_dir():
    return os.environ.get("SMARTVAULT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "smartvault"))


@pytest.fixture(scope="session")
def validator():
    """Installs the pinned kubernetes-models into the cache once; returns a function docs -> report."""
    if not shutil.which("node") or not shutil.which("npm"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-q", "nodejs", "npm"], check=True, capture_output=True,
                           timeout=900)
        else:
            pytest.fail("node and npm are needed (apt-get install -y nodejs npm)")
    with open(os.path.join(VALIDATOR, "package-lock.json"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    prefix = os.path.join(cache_dir(), f"npm-k8s-{digest}")
    if not os.path.exists(os.path.join(prefix, ".complete")):
        shutil.rmtree(prefix, ignore_errors=True)
        os.makedirs(prefix)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(VALIDATOR, name), prefix)
        out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                             cwd=prefix, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        open(os.path.join(prefix, ".complete"), "w").close()
    shutil.copy(os.path.join(VALIDATOR, "validate.mjs"), prefix)

    def validate(docs):
        out = subprocess.run(["node", os.path.join(prefix, "validate.mjs")], input=json.dumps(docs),
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return validate


def test_validator_catches_bad_types_and_unknown_fields(validator):
    (cj,) = [d for d in variant_docs(None) if d["kind"] == "CronJob"]
    bad = copy.deepcopy(cj)
    c = pod_spec(bad)["containers"][0]
    c["securityContext"]["readOnlyRootFileSystem"] = True  # misspelt: unknown field
    bad["spec"]["concurrencyPolicy"] = "Never"  # not in the enum
    pod_spec(bad)["securityContext"]["runAsUser"] = "65532"  # not an integer
    (r,) = validator([bad])
    assert r["unknown"] == ["/spec/jobTemplate/spec/template/spec/containers/0/securityContext/readOnlyRootFileSystem"]
    assert any("/spec/concurrencyPolicy enum" in e for e in r["errors"])
    assert any("runAsUser type" in e for e in r["errors"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_manifests_validate_against_the_kubernetes_schemas(validator, variant):
    docs = variant_docs(variant)
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "CronJob", "ServiceAccount"]
    for r in validator(docs):
        assert r["errors"] == [] and r["unknown"] == [], r


@pytest.mark.parametrize("variant", VARIANTS)
def test_our_kustomize_subset_matches_kubectl(tmp_path, variant):
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed: the kustomization is checked by this file's own builder only")
    ours = sorted(variant_docs(variant), key=lambda d: d["kind"])
    theirs = sorted(kubectl_build(tmp_path, variant), key=lambda d: d["kind"])
    assert ours == theirs


# ------------------------------------------------------------------------------------------------ security settings


@pytest.mark.parametrize("variant", VARIANTS)
def test_cronjob_settings_and_restricted_pod_security(variant):
    docs = by_kind(variant_docs(variant))
    cj = docs["CronJob"]
    spec = cj["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] <= 86400
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert 0 <= job["backoffLimit"] <= 3 and job["activeDeadlineSeconds"] > 0
    (rule,) = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [2], "bad configuration is not retried"
    pod = pod_spec(cj)
    assert pod["restartPolicy"] == "Never"
    # SIGKILL comes terminationGracePeriodSeconds after SIGTERM: the binary's STOP_TIMEOUT (default 20 s) fits.
    assert pod["terminationGracePeriodSeconds"] >= 25
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False
    assert docs["ServiceAccount"]["automountServiceAccountToken"] is False
    for forbidden in ("hostNetwork", "hostPID", "hostIPC", "volumes", "initContainers", "ephemeralContainers"):
        assert forbidden not in pod, forbidden
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 65532 and psc["runAsGroup"] == 65532
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    (c,) = pod["containers"]
    assert c["name"] == "smartvault" and "command" not in c and "args" not in c
    csc = c["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"] == {"drop": ["ALL"]} and csc.get("privileged", False) is False
    for key in ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile"):
        assert key not in csc or csc[key] == psc[key], f"container overrides pod {key}"
    assert "ports" not in c and "volumeMounts" not in c
    res = c["resources"]
    mib = {"Mi": 1, "Gi": 1024}
    mem = {k: int(v["memory"][:-2]) * mib[v["memory"][-2:]] for k, v in res.items()}
    cpu = {k: int(v["cpu"][:-1]) if v["cpu"].endswith("m") else int(float(v["cpu"]) * 1000) for k, v in res.items()}
    assert mem["requests"] <= mem["limits"] and cpu["requests"] <= cpu["limits"]
    assert mem["limits"] >= 2 * PEAK_RSS_MIB, "memory limit must leave headroom over the measured peak"
    assert c["envFrom"][0] == {"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}}
    assert all(d["metadata"]["labels"]["app.kubernetes.io/name"] == "smartvault" for d in docs.values())


def test_configmap_names_only_known_variables():
    cm = by_kind(variant_docs("outside-aws"))["ConfigMap"]
    unknown = set(cm["data"]) - set(ENV_NAMES) - AWS_SDK_ENV
    assert not unknown, f"not a SmartVault variable: {unknown}"
    assert all(isinstance(v, str) for v in cm["data"].values())
    assert not {k for k in cm["data"] if "SECRET" in k or "ACCESS_KEY" in k or "TOKEN" in k}, "credentials in a ConfigMap"


def test_variant_credentials():
    base = by_kind(variant_docs(None))
    assert "annotations" not in base["ServiceAccount"]["metadata"]
    irsa = by_kind(variant_docs("eks-irsa"))
    role = irsa["ServiceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.startswith("arn:aws:iam::") and ":role/" in role
    assert pod_spec(irsa["CronJob"])["securityContext"]["fsGroup"] == 65532
    pid = by_kind(variant_docs("eks-pod-identity"))
    assert "annotations" not in pid["ServiceAccount"]["metadata"]
    assert pod_spec(pid["CronJob"])["securityContext"]["fsGroup"] == 65532
    out = by_kind(variant_docs("outside-aws"))
    assert "annotations" not in out["ServiceAccount"]["metadata"]
    (c,) = pod_spec(out["CronJob"])["containers"]
    assert {"secretRef": {"name": "smartvault-aws-credentials"}} in c["envFrom"]
    assert {"configMapRef": {"name": "smartvault-config"}} in c["envFrom"]
    assert out["ConfigMap"]["data"]["AWS_EC2_METADATA_DISABLED"] == "true"
    assert "secretRef" not in json.dumps(base["CronJob"]), "only the outside-aws variant reads a Secret"


def test_sharded_variant_is_an_indexed_job_with_one_pod_per_shard():
    docs = by_kind(variant_docs("sharded"))
    job = docs["CronJob"]["spec"]["jobTemplate"]["spec"]
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == int(docs["ConfigMap"]["data"]["SHARD_COUNT"])
    # Kubernetes sets JOB_COMPLETION_INDEX; the binary reads it when SHARD_INDEX is not set.
    assert "SHARD_INDEX" not in docs["ConfigMap"]["data"]
    assert "backoffLimitPerIndex" in job and job["backoffLimit"] >= 0
