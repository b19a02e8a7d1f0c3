"""CloudFormation helpers for the deployment tests: a YAML loader that accepts the short-form intrinsic tags,
and a small evaluator of the intrinsic functions the SmartVault templates use.

Also a command: `python3 tests/deploy/cfn.py iam-policy` prints the task role policy of ecs/smartvault.yaml
with every optional statement switched on and placeholders in place of the deployment's names; that output
is ecs/iam-policy.json (test_policy_json.py checks that they agree).
"""

import copy
import json
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(REPO, "ecs", "smartvault.yaml")
DR_TEMPLATE = os.path.join(REPO, "ecs", "dr-kms.yaml")
MEMBER_TEMPLATE = os.path.join(REPO, "ecs", "member-role.yaml")
BATCH_TEMPLATE = os.path.join(REPO, "ecs", "batch.yaml")

PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}

# Short form -> long form. GetAtt's scalar form "A.B" becomes ["A", "B"].
_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Join": "Fn::Join",
    "Split": "Fn::Split",
    "Select": "Fn::Select",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short-form tags."""


def _construct(long_name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if long_name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long_name: value}

    return construct


for _short, _long in _TAGS.items():
    CfnLoader.add_constructor("!" + _short, _construct(_long))


class Yaml12BoolLoader(CfnLoader):
    """Like CfnLoader, but only true/false are booleans (YAML 1.2). A template that loads differently with the two
    has an unquoted yes/no/on/off, which CloudFormation and PyYAML may read as a boolean."""


Yaml12BoolLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in CfnLoader.yaml_implicit_resolvers.copy().items()
}
Yaml12BoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path=TEMPLATE, loader=CfnLoader):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)  # noqa: S506 - SafeLoader subclass


# --------------------------------------------------------------------------------------------------------------
# Walking the template: every intrinsic reference, with where it occurs.


def walk(node, path=""):
    """Yields (path, node) for every dict and list in node, depth first."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def sub_variables(value):
    """The ${...} names in a Fn::Sub string (not ${!Literal})."""
    return _SUB_VAR.findall(value)


def references(node):
    """Yields (path, kind, name) for every Ref, GetAtt, Sub variable and Condition reference in node.
    kind is "Ref", "GetAtt", "Sub" or "Condition"; Sub variables defined in the Sub's own map are skipped."""
    for path, n in walk(node):
        if not isinstance(n, dict) or len(n) != 1:
            continue
        (key, value), = n.items()
        if key == "Ref" and isinstance(value, str):
            yield path, "Ref", value
        elif key == "Fn::GetAtt":
            target = value[0] if isinstance(value, list) else value.split(".")[0]
            yield path, "GetAtt", target
        elif key == "Fn::Sub":
            text, local = (value, {}) if isinstance(value, str) else (value[0], value[1])
            for var in sub_variables(text):
                if var in local:
                    continue
                yield path, "Sub", var.split(".")[0] if "." in var and not var.startswith("AWS::") else var
        elif key == "Condition" and isinstance(value, str):
            yield path, "Condition", value
        elif key == "Fn::If":
            yield path, "Condition", value[0]


# --------------------------------------------------------------------------------------------------------------
# Evaluating intrinsic functions.


class _NoValue:
    def __repr__(self):
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Evaluator:
    """Evaluates a template's intrinsic functions for given parameters.

    resources maps a logical id to {"Ref": value, "Attrs": {name: value}}; a resource that is not in the map
    evaluates to "<LogicalId>" / "<LogicalId.Attr>" placeholders, which is what the policy rendering wants."""

    def __init__(self, template, params=None, pseudo=None, resources=None):
        self.t = template
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            value = (params or {}).get(name, spec.get("Default"))
            if value is None:
                raise KeyError(f"parameter {name} has no value and no default")
            if spec["Type"] == "CommaDelimitedList" or spec["Type"].startswith("List<"):
                if isinstance(value, str):
                    value = value.split(",") if value != "" else [""]
            else:
                value = str(value)
            self.params[name] = value
        self.pseudo = {
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::Region": "us-east-1",
            "AWS::StackName": "smartvault",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.pseudo.update(pseudo or {})
        self.resources = resources or {}
        self._conditions = {}

    def condition(self, name):
        if name not in self._conditions:
            self._conditions[name] = bool(self.eval(self.t["Conditions"][name]))
        return self._conditions[name]

    def resource_enabled(self, logical_id):
        cond = self.t["Resources"][logical_id].get("Condition")
        return cond is None or self.condition(cond)

    def _ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources:
            return self.resources[name]["Ref"]
        if name in self.t.get("Resources", {}):
            return f"<{name}>"
        raise KeyError(f"Ref to unknown name {name}")

    def _getatt(self, name, attr):
        if name in self.resources:
            return self.resources[name]["Attrs"][attr]
        if name in self.t.get("Resources", {}):
            return f"<{name}.{attr}>"
        raise KeyError(f"GetAtt on unknown resource {name}")

    def _sub(self, text, local):
        def repl(m):
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in local:
                return str(local[var])
            if "." in var and not var.startswith("AWS::"):
                res, attr = var.split(".", 1)
                return str(self._getatt(res, attr))
            return str(self._ref(var))

        return re.sub(r"\$\{([^}]*)\}", repl, text)

    def eval(self, node):
        if isinstance(node, list):
            out = [self.eval(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
            if key == "Fn::GetAtt":
                return self._getatt(value[0], value[1])
            if key == "Fn::Sub":
                if isinstance(value, str):
                    return self._sub(value, {})
                local = {k: self.eval(v) for k, v in value[1].items()}
                return self._sub(value[0], local)
            if key == "Fn::If":
                return self.eval(value[1] if self.condition(value[0]) else value[2])
            if key == "Fn::Join":
                return value[0].join(str(v) for v in self.eval(value[1]))
            if key == "Fn::Split":
                return self.eval(value[1]).split(value[0])
            if key == "Fn::Select":
                return self.eval(value[1])[int(self.eval(value[0]))]
            if key == "Fn::Equals":
                a, b = self.eval(value[0]), self.eval(value[1])
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.eval(value[0])
            if key == "Fn::And":
                return all(self.eval(v) for v in value)
            if key == "Fn::Or":
                return any(self.eval(v) for v in value)
            if key.startswith("Fn::"):
                raise NotImplementedError(key)
        out = {}
        for k, v in node.items():
            ev = self.eval(v)
            if ev is not NO_VALUE:
                out[k] = ev
        return out

    def properties(self, logical_id):
        return self.eval(self.t["Resources"][logical_id].get("Properties", {}))


# --------------------------------------------------------------------------------------------------------------
# The task role policy with placeholders (ecs/iam-policy.json).

PLACEHOLDER_PARAMS = {
    "ImageUri": "<IMAGE_URI>",
    "Subnets": "subnet-00000000",
    "SecurityGroups": "sg-00000000",
    "SourceRegion": "<SOURCE_REGION>",
    "DestRegion": "<DR_REGION>",
    "KmsKeyArn": "<DR_KMS_KEY_ARN>",
    "SnsTopicArn": "<SNS_TOPIC_ARN>",
    "DynamoDbTable": "<AUDIT_TABLE>",
    "S3SourceBucket": "<SOURCE_BUCKET>",
    "S3DestinationBuckets": "<DOCUMENTS_BUCKET>,<PHOTOS_BUCKET>,<DATABASE_BUCKET>",
    "S3SseKmsKeyArn": "<S3_SSE_KMS_KEY_ARN>",
    "CreateBackupBuckets": "false",
    "RestoreDrill": "1",
    "ReportBucket": "<REPORT_BUCKET>",
}
PLACEHOLDER_PSEUDO = {"AWS::AccountId": "<ACCOUNT_ID>", "AWS::Region": "<SOURCE_REGION>", "AWS::Partition": "aws"}


def task_policy(template=None, params=None, pseudo=None, resources=None):
    """The TaskRole's inline policy document, evaluated."""
    t = template or load()
    ev = Evaluator(t, params if params is not None else PLACEHOLDER_PARAMS,
                   pseudo if pseudo is not None else PLACEHOLDER_PSEUDO, resources)
    (policy,) = ev.properties("TaskRole")["Policies"]
    return policy["PolicyDocument"]


def fill_placeholders(doc, values):
    """Replaces <NAME> placeholders in every string of doc (a JSON-like structure) with values[NAME]."""
    doc = copy.deepcopy(doc)

    def fill(s):
        return re.sub(r"<([A-Z0-9_]+)>", lambda m: values[m.group(1)], s)

    def rec(n):
        if isinstance(n, dict):
            return {k: rec(v) for k, v in n.items()}
        if isinstance(n, list):
            return [rec(v) for v in n]
        if isinstance(n, str):
            return fill(n)
        return n

    return rec(doc)


if __name__ == "__main__":
    if sys.argv[1:] == ["iam-policy"]:
        print(json.dumps(task_policy(), indent=2))
    else:
        sys.exit("usage: cfn.py iam-policy")
