"""The gateway's content validation: every JSON body a model API validates is checked against a schema that
exists and defines the type the operation names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, StackRule, StackView, Threat
from policies.catalog.values import UNKNOWN, as_dict, as_list, get, show

_API_OPERATION = "azure-native:apimanagement:ApiOperation"
_API_SCHEMA = "azure-native:apimanagement:ApiSchema"
_GLOBAL_SCHEMA = "azure-native:apimanagement:GlobalSchema"


def _json_validations(text: str) -> list[tuple[str, str | None]] | None:
    """(content type, schema-id) of every <content validate-as="json"> in the inbound validate-content."""
    try:
        root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
    except ET.ParseError:
        return None
    inbound = root.find("inbound")
    if inbound is None:
        return []
    return [
        (content.get("type", ""), content.get("schema-id"))
        for validate in inbound.iter("validate-content")
        for content in validate.iter("content")
        if content.get("validate-as", "").lower() == "json"
    ]


def _of_api(stack: StackView, token: str, api: Res) -> list[Res]:
    """Resources of ``token`` that belong to ``api`` (same apiId and service, or depending on it)."""
    found = []
    for res in stack.of_type(token):
        same_api = res.props.get("apiId") in (api.props.get("apiId"), UNKNOWN) or api.urn in res.dependencies
        if same_api and res.props.get("serviceName") in (api.props.get("serviceName"), UNKNOWN):
            found.append(res)
    return found


def _policy_texts(stack: StackView, api: Res) -> list[object]:
    service = api.props.get("serviceName")
    texts = [
        p.props.get("value")
        for p in stack.of_type(azure.APIM_GLOBAL_POLICY)
        if p.props.get("serviceName") in (service, UNKNOWN)
    ]
    texts += [p.props.get("value") for p in _of_api(stack, azure.APIM_API_POLICY, api)]
    return texts


def _defines(schema: Res, type_name: str) -> bool | None:
    """Whether an API schema defines ``type_name`` (None: not known yet)."""
    for key in ("components", "definitions"):
        value = schema.props.get(key)
        if value is UNKNOWN:
            return None
        types = as_dict(value).get("schemas", {}) if key == "components" else as_dict(value)
        if types is UNKNOWN:
            return None
        if type_name in as_dict(types):
            return True
    return False


def _representation_problem(stack: StackView, api: Res, rep: object) -> str | None:
    values = as_dict(rep)
    schema_id, type_name = values.get("schemaId"), values.get("typeName")
    if UNKNOWN in (schema_id, type_name):
        return None
    if not schema_id:
        return "names no schemaId"
    if not type_name:
        return "names no typeName"
    schemas = [s for s in _of_api(stack, _API_SCHEMA, api) if s.props.get("schemaId") in (schema_id, UNKNOWN)]
    if not schemas:
        return f"names schema {show(schema_id)}, which the stack does not define for the API"
    if any(_defines(s, str(type_name)) is not False for s in schemas):
        return None
    return f"names type {show(type_name)}, which schema {show(schema_id)} does not define"


def _content_schemas(stack: StackView) -> Iterator[tuple[str, str]]:
    for api in stack.of_type(azure.APIM_API):
        texts = _policy_texts(stack, api)
        if not all(isinstance(text, str) for text in texts):
            continue  # a policy not known yet: nothing can be said at preview
        checks = {c for text in texts for c in _json_validations(str(text)) or []}
        operations = _of_api(stack, _API_OPERATION, api)
        for content_type, schema_id in sorted(checks, key=lambda c: (c[0], c[1] or "")):
            shown = content_type or "every declared content type"
            if schema_id is not None:
                named = [s for s in stack.of_type(_GLOBAL_SCHEMA) if s.props.get("schemaId") in (schema_id, UNKNOWN)]
                if not named:
                    yield (
                        api.urn,
                        (
                            f"API {api.name} validates {shown} as JSON against schema-id {show(schema_id)}, which the "
                            "stack does not define"
                        ),
                    )
                continue
            if not operations:
                yield (
                    api.urn,
                    (f"API {api.name} validates {shown} as JSON but has no operation declaring a request schema"),
                )
            for op in operations:
                reps = get(op.props, "request.representations")
                if reps is UNKNOWN:
                    continue
                matching = [
                    r
                    for r in as_list(reps)
                    if not content_type or str(as_dict(r).get("contentType", "")).lower() == content_type.lower()
                ]
                if not matching:
                    yield (
                        api.urn,
                        (
                            f"API {api.name} validates {shown} as JSON but operation {op.name} declares no {shown} "
                            "request representation with a schema (every such call would get 400)"
                        ),
                    )
                for rep in matching:
                    problem = _representation_problem(stack, api, rep)
                    if problem is not None:
                        yield (
                            api.urn,
                            (
                                f"API {api.name} validates {shown} as JSON but the {shown} request representation of "
                                f"operation {op.name} {problem} (every such call would get 400)"
                            ),
                        )


APIM_CONTENT_SCHEMA = StackRule(
    id="MLSEC-APIM-021",
    name="Content the gateway validates as JSON has a request schema in the API definition",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="validate-content checks a body against the schema of the operation's request representation for "
    "its content type (or a schema-id added to the service); when the API defines none, the policy reports "
    "'API's schema does not exist or it could not be resolved' and, with action prevent, answers 400 to every "
    "call (learn.microsoft.com/azure/api-management/validate-content-policy, Schemas for content validation and "
    "Validation errors).",
    remediation="Give each operation a request representation for the validated content type with schemaId and "
    "typeName naming an API schema (Microsoft.ApiManagement/service/apis/schemas) that defines the type, or "
    "validate only size and content type.",
    check=_content_schemas,
)
