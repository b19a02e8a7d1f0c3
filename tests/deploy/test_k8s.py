"""The Kubernetes manifests (k8s/): every variant is built by the real `kubectl kustomize`, validates offline
against the Kubernetes API schemas, and keeps the security settings of issue 7 (so they cannot regress).

kubectl is Debian 13's (package kubectl, which kubernetes-client depends on), pinned with its SHA-256 in
vendor/manifest and unpacked by tests/tools/debs.sh into the cache: never a home-grown kustomize. The schemas
come from npm's kubernetes-models (pinned by tests/deploy/k8s/package-lock.json), installed with `npm ci` into
the cache (~/.cache/smartvault/npm-k8s-<lock hash>), never into the repository.
"""

import copy
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

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


# ------------------------------------------------------------------------------------------------ kubectl kustomize


@functools.lru_cache(maxsize=1)
def kubectl():
    """Debian 13's kubectl, unpacked from the .deb pinned in vendor/manifest (downloaded once)."""
    out = subprocess.run([os.path.join(cfn.REPO, "tests/tools/debs.sh"), "kubectl"], capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr
    path = os.path.join(out.stdout.strip(), "usr/bin/kubectl")
    assert os.access(path, os.X_OK), path
    return path


def kubectl_version():
    out = subprocess.run([kubectl(), "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["clientVersion"]["gitVersion"]


@functools.lru_cache(maxsize=None)
def _kustomize(variant):
    with tempfile.TemporaryDirectory(prefix="smartvault-k8s-") as tmp:
        root = os.path.join(tmp, "k8s")
        shutil.copytree(K8S, root)
        if variant:
            with open(os.path.join(root, "kustomization.yaml"), "a", encoding="utf-8") as f:
                f.write(f"components:\n  - variants/{variant}\n")
        out = subprocess.run([kubectl(), "kustomize", root], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"kubectl kustomize ({variant or 'base'}) failed:\n{out.stderr}"
    return json.dumps([d for d in yaml.safe_load_all(out.stdout) if d])


def variant_docs(variant):
    """`kubectl kustomize` of k8s/ with the variant enabled (from a copy: k8s/ is not modified)."""
    return json.loads(_kustomize(variant))


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


def test_kubectl_is_debian_13s():
    assert kubectl_version().startswith("v1.32."), kubectl_version()


def test_kubectl_refuses_a_broken_kustomization(tmp_path):
    """The builder is real: a patch aimed at an object that does not exist fails the build."""
    root = tmp_path / "k8s"
    shutil.copytree(K8S, root)
    with open(root / "kustomization.yaml", "a", encoding="utf-8") as f:
        f.write("patches:\n  - patch: |-\n      {kind: CronJob, apiVersion: batch/v1, metadata: {name: nope}}\n")
    out = subprocess.run([kubectl(), "kustomize", str(root)], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "nope" in out.stderr, out.stderr


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
