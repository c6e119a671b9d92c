"""The payload codec and the failure converter: what reaches Temporal is ciphertext, keys rotate,
refusals stay readable, and the codec endpoint serves only the roles allowed to read complaints."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.converter import ActivitySerializationContext, WithSerializationContext, WorkflowSerializationContext
from temporalio.exceptions import ApplicationError

from complaints.api.auth import parse_keys as parse_api_keys
from complaints.api.codec import codec_router
from complaints.domain.models import ComplaintStatus, Intake, PublicText
from complaints.infra.codec import (
    KEY_ID,
    CodecKeyError,
    EncryptionCodec,
    UnreadablePayload,
    create_key_file,
    key_id,
    load_keys,
    new_key_entry,
    parse_keys,
)
from complaints.infra.settings import PROJECT_DIR, Settings
from complaints.infra.temporal import data_converter
from tests.conftest import TEST_KEY

NAME, PHONE, ID_NUMBER, TEXT = "王小明", "13912345678", "11010519491231002X", "催收员半夜威胁我的家人"
INTAKE = Intake.model_validate({"channel": "phone", "content": TEXT,
                                "complainant": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}})
SECRETS = [NAME, PHONE, ID_NUMBER, TEXT]
KEY_B = new_key_entry()
KEY_B_ID = KEY_B.partition(":")[0]
API_KEYS = "k-channel:channel,k-handler:handler,k-manager:manager,k-emergency:emergency,k-auditor:auditor"
READERS = ["handler", "manager", "emergency", "auditor"]
UI = "http://localhost:8233"


def leaks(data: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in data]


async def test_payloads_are_ciphertext_with_the_key_id_and_decode_back() -> None:
    converter = data_converter(Settings(codec_keys=TEST_KEY))
    [sealed] = await converter.encode([INTAKE])
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata[KEY_ID] == b"test-1"
    assert leaks(sealed.SerializeToString()) == []
    [back] = await converter.decode([sealed], [Intake])
    assert back == INTAKE


STATUS = ComplaintStatus.model_validate({
    "complaint_id": "C1", "stage": "assessment", "channel": "phone", "received_at": "2026-01-05T01:00:00Z",
    "escalations": [{"source": "manager", "reason": f"{NAME}要找媒体", "by": "m.wu", "at": "2026-01-05T02:00:00Z"}],
    "pauses": [{"reason": f"鉴定，客户电话{PHONE}", "by": "h.li", "started_at": "2026-01-05T03:00:00Z"}],
    "respondent": {"kind": "collector", "id": "COL-7", "name": "赵催收"},
})


async def test_statuses_and_summaries_stay_readable_for_the_plain_cli_with_free_text_sealed() -> None:
    """The design's exception: public values stay plain JSON, but the free text staff type
    into them (reasons, a respondent's name) is sealed field by field."""
    converter = data_converter(Settings(codec_keys=TEST_KEY))
    sealed = await converter.encode([STATUS, PublicText("card.fraud · high · phone"), "plain str"])
    assert [p.metadata["encoding"] for p in sealed] == [b"json/plain", b"json/plain", b"binary/encrypted"]
    assert [dict(p.metadata) for p in sealed[:2]] == [{"encoding": b"json/plain"}] * 2  # else the CLI prints base64
    readable = json.loads(sealed[0].data)
    assert readable["stage"] == "assessment" and readable["escalations"][0]["source"] == "manager"
    assert readable["escalations"][0]["reason"].startswith("sealed:test-1:")
    assert leaks(sealed[0].data) == [] and "赵催收" not in sealed[0].data.decode()
    assert await converter.decode(sealed[:1], [ComplaintStatus]) == [STATUS]


async def test_a_payload_sealed_before_compression_still_opens() -> None:
    codec = EncryptionCodec(parse_keys(TEST_KEY))
    big = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"content": TEXT * 40}).encode())
    [compressed] = await codec.encode([big])
    nonce = b"\0" * 12  # as sealed before compression: the serialized payload itself under the key
    cipher = AESGCM(base64.b64decode(TEST_KEY.partition(":")[2]))
    uncompressed = Payload(metadata=dict(compressed.metadata),
                           data=nonce + cipher.encrypt(nonce, big.SerializeToString(), b"test-1"))
    assert len(compressed.data) < len(uncompressed.data) / 4
    assert await codec.decode([compressed, uncompressed]) == [big, big]


async def test_a_sealed_field_no_key_opens_stays_sealed_and_the_rest_reads() -> None:
    [sealed] = await data_converter(Settings(codec_keys=KEY_B)).encode([STATUS])
    [status] = await data_converter(Settings(codec_keys=TEST_KEY)).decode([sealed], [ComplaintStatus])
    assert status.stage == "assessment" and status.escalations[0].reason.startswith(f"sealed:{KEY_B_ID}:")


async def test_rotation_new_key_writes_retired_key_still_reads() -> None:
    old = EncryptionCodec(parse_keys(TEST_KEY))
    rotated = EncryptionCodec(parse_keys(f"{KEY_B},{TEST_KEY}"))
    [under_old] = await old.encode([Payload(data=TEXT.encode())])
    [under_new] = await rotated.encode([Payload(data=TEXT.encode())])
    assert under_new.metadata[KEY_ID] == KEY_B_ID.encode()
    assert (await rotated.decode([under_old]))[0].data == TEXT.encode()
    with pytest.raises(CodecKeyError, match=KEY_B_ID):
        await old.decode([under_new])


def test_tampered_or_misfiled_ciphertext_is_refused() -> None:
    codec = EncryptionCodec(parse_keys(TEST_KEY))
    sealed = codec.encrypt(Payload(data=b"x"))
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(UnreadablePayload, match="key id 'test-1'"):
        codec.decrypt(flipped)
    assert codec.try_decrypt(flipped) == flipped and not codec.opens(flipped)


async def test_a_refused_payload_names_the_complaint_and_the_key_id() -> None:
    """What the worker logs, and the workflow task failure the Web UI shows, when it cannot open an input."""
    [stray] = await data_converter(Settings(codec_keys=KEY_B)).encode([INTAKE])
    worker_side = data_converter(Settings(codec_keys=TEST_KEY)).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="complaint-C1"))
    with pytest.raises(UnreadablePayload) as refused:
        await worker_side.decode([stray], [Intake])
    assert "complaint-C1" in str(refused.value) and KEY_B_ID in str(refused.value)
    failure = await sealed_failure(refused.value)
    assert KEY_B_ID in failure.message and "complaint-C1" in failure.message  # readable: ids only


def test_the_converter_is_bound_once_a_workflow_each_naming_its_own() -> None:
    """The worker asks for a bound converter for every payload it visits: one a workflow serves."""
    converter = data_converter(Settings(codec_keys=TEST_KEY))
    archiving = ActivitySerializationContext(namespace="default", workflow_id="complaint-C1", activity_id="7",
                                             workflow_type="ComplaintWorkflow", activity_type="archive_record",
                                             activity_task_queue="complaints", is_local=True)
    c1 = converter.with_context(WorkflowSerializationContext(namespace="default", workflow_id="complaint-C1"))
    c2 = converter.with_context(WorkflowSerializationContext(namespace="default", workflow_id="complaint-C2"))
    assert converter.with_context(archiving) is c1 and c2 is not c1
    assert (c1.payload_codec._workflow_id, c2.payload_codec._workflow_id) == ("complaint-C1", "complaint-C2")
    # what binding by workflow assumes: the codec is the one part that takes the context
    assert converter.payload_converter.with_context(archiving) is converter.payload_converter
    assert not isinstance(converter.failure_converter, WithSerializationContext)


def test_a_key_file_is_made_only_on_request_private_and_never_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "codec.keys"
    with pytest.raises(CodecKeyError, match="COMPLAINTS_CODEC_KEYS.*COMPLAINTS_CODEC_KEY_FILE"):
        load_keys(None, key_file)
    assert not key_file.exists()
    kid = create_key_file(key_file)
    keys = load_keys(None, key_file)
    assert list(keys) == [kid] and kid == key_id(keys[kid]) and len(keys[kid]) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(CodecKeyError, match="exists already"):
        create_key_file(key_file)
    assert load_keys(None, key_file) == keys
    assert load_keys(TEST_KEY, key_file) == parse_keys(TEST_KEY)


def test_the_default_key_file_is_the_projects_wherever_a_command_runs(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COMPLAINTS_DATA_DIR", "COMPLAINTS_CODEC_KEY_FILE", "COMPLAINTS_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env()
    assert settings.codec_key_file == Settings().codec_key_file == PROJECT_DIR / ".data" / "codec.keys"
    assert settings.db_url == f"sqlite:///{PROJECT_DIR / '.data' / 'complaints.db'}"


def test_new_keys_take_their_id_from_their_fingerprint() -> None:
    entries = [new_key_entry() for _ in range(3)]
    for entry in entries:
        kid, key = next(iter(parse_keys(entry).items()))
        assert kid == key_id(key) and kid.startswith("k-")
    assert len({entry.partition(":")[0] for entry in entries}) == 3


def test_one_id_for_two_keys_is_refused() -> None:
    other = base64.b64encode(b"another-test-key-of-32-bytes-ok!").decode()
    with pytest.raises(CodecKeyError, match="key 2 reuses id 'test-1' for a different key"):
        parse_keys(f"{TEST_KEY},test-1:{other}")
    assert parse_keys(f"{TEST_KEY},{TEST_KEY}") == parse_keys(TEST_KEY)  # the same key twice is harmless


def test_malformed_keys_name_the_entry_never_its_key_material() -> None:
    with pytest.raises(CodecKeyError, match="bad"):
        parse_keys("bad:notbase64!")
    with pytest.raises(CodecKeyError, match="key 2 .*'short'"):
        parse_keys(f"{TEST_KEY},short:" + base64.b64encode(b"12345").decode())
    with pytest.raises(CodecKeyError) as no_id:
        parse_keys(":" + base64.b64encode(b"secret-key-material-32-bytes-xx!").decode())
    assert "c2VjcmV0" not in str(no_id.value)


# --- failures ------------------------------------------------------------------------


async def sealed_failure(err: BaseException) -> Failure:
    converter = data_converter(Settings(codec_keys=TEST_KEY))
    failure = Failure()
    try:
        raise err
    except BaseException as raised:  # noqa: BLE001 - a traceback like the worker's
        await converter.encode_failure(raised, failure)
    return failure


async def test_unexpected_failures_are_encrypted_with_their_causes() -> None:
    """A database or validation error quotes its input; Temporal would store it in plain text."""
    try:
        raise ValueError(f"[parameters: ('{NAME}', '{PHONE}')]")
    except ValueError as cause:
        err = ApplicationError(f"archive write failed for {ID_NUMBER}")
        err.__cause__ = cause
    failure = await sealed_failure(err)
    assert leaks(failure.SerializeToString()) == []
    assert failure.message == failure.cause.message == "Encoded failure"
    back = await data_converter(Settings(codec_keys=TEST_KEY)).decode_failure(failure)
    assert ID_NUMBER in str(back) and PHONE in str(back.__cause__)


async def test_refusals_stay_readable_without_the_codec() -> None:
    failure = await sealed_failure(ApplicationError("summarize refused: the complaint is in stage assessment",
                                                    type="WrongStage"))
    assert failure.message == "summarize refused: the complaint is in stage assessment"
    assert not failure.HasField("encoded_attributes")


# --- the codec endpoint --------------------------------------------------------------


@pytest.fixture
def api() -> TestClient:
    app = FastAPI()
    app.state.settings = Settings(codec_keys=TEST_KEY, ui_port=8080)
    app.state.api_keys = parse_api_keys(API_KEYS)
    app.include_router(codec_router)
    return TestClient(app)


def body(*payloads: Payload) -> dict:
    return MessageToDict(Payloads(payloads=payloads))


def payloads(answer: dict) -> list[Payload]:
    return list(ParseDict(answer, Payloads()).payloads)


async def sealed_intake() -> Payload:
    return (await data_converter(Settings(codec_keys=TEST_KEY)).encode([INTAKE]))[0]


@pytest.mark.parametrize("role", READERS)
async def test_readers_decode_by_header_and_by_ui_path(api: TestClient, role: str) -> None:
    sealed = body(await sealed_intake())
    for url, headers in (("/codec/decode", {"Authorization": f"Bearer k-{role}"}), (f"/codec/k/k-{role}/decode", {})):
        answer = api.post(url, json=sealed, headers={**headers, "X-Namespace": "default"})
        assert answer.status_code == 200, answer.text
        [plain] = payloads(answer.json())
        assert plain.metadata["encoding"] == b"json/plain" and NAME.encode() in plain.data


@pytest.mark.parametrize(("headers", "path", "expected"), [
    ({}, "/codec/decode", 401),
    ({"Authorization": "Bearer nobody"}, "/codec/decode", 401),
    ({"Authorization": "k-handler"}, "/codec/decode", 401),
    ({"Authorization": "Bearer k-channel"}, "/codec/decode", 403),
    ({"Authorization": "Bearer k-channel"}, "/codec/encode", 403),
    ({}, "/codec/k/nobody/decode", 401),
    ({}, "/codec/k/k-channel/decode", 403),
    ({}, "/codec/k/k-channel/encode", 403),
])
async def test_endpoint_refuses_missing_unknown_and_wrong_role_keys(api: TestClient, headers: dict, path: str,
                                                                    expected: int) -> None:
    answer = api.post(path, json=body(await sealed_intake()), headers=headers)
    assert answer.status_code == expected
    assert NAME not in answer.text


@pytest.mark.parametrize("role", ["handler", "emergency", "auditor"])
async def test_readers_may_decode_but_only_a_manager_may_encode(api: TestClient, role: str) -> None:
    """Encoding is how the Web UI writes (a signal typed into it): the UI's auditor key only reads."""
    plain = body(Payload(metadata={"encoding": b"json/plain"}, data=b'{"reason": "r", "by": "m"}'))
    for url, headers in (("/codec/encode", {"Authorization": f"Bearer k-{role}"}), (f"/codec/k/k-{role}/encode", {})):
        refused = api.post(url, json=plain, headers=headers)
        assert refused.status_code == 403, url
        assert refused.json()["detail"] == f"role {role} may not encode payloads (write to complaints through the " \
                                           "UI); needs manager"
        assert api.post(url.replace("encode", "decode"), json=body(await sealed_intake()),
                        headers=headers).status_code == 200
    for url, headers in (("/codec/encode", {"Authorization": "Bearer k-manager"}), ("/codec/k/k-manager/encode", {})):
        [sealed] = payloads(api.post(url, json=plain, headers=headers).json())
        assert sealed.metadata[KEY_ID] == b"test-1"


def test_encode_then_decode_round_trips_under_the_current_key(api: TestClient) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=f'"{TEXT}"'.encode())
    auth = {"Authorization": "Bearer k-manager"}
    [sealed] = payloads(api.post("/codec/encode", json=body(plain), headers=auth).json())
    assert sealed.metadata[KEY_ID] == b"test-1" and TEXT.encode() not in sealed.data
    assert payloads(api.post("/codec/decode", json=body(sealed), headers=auth).json()) == [plain]


def test_undecryptable_payloads_come_back_untouched(api: TestClient) -> None:
    stranger = EncryptionCodec(parse_keys(KEY_B)).encrypt(Payload(data=b"x"))
    answer = api.post("/codec/decode", json=body(stranger), headers={"Authorization": "Bearer k-handler"})
    assert payloads(answer.json()) == [stranger]


@pytest.mark.parametrize("bad", [b"not json", b"[]", b'{"payloads": 3}', b'{"payloads": [{"nope": 1}]}'])
def test_malformed_bodies_get_422(api: TestClient, bad: bytes) -> None:
    answer = api.post("/codec/decode", content=bad, headers={"Authorization": "Bearer k-handler"})
    assert answer.status_code == 422


def test_other_namespaces_are_refused(api: TestClient) -> None:
    answer = api.post("/codec/decode", json={"payloads": []},
                      headers={"Authorization": "Bearer k-handler", "X-Namespace": "elsewhere"})
    assert answer.status_code == 400


@pytest.mark.parametrize("origin", [UI, "http://127.0.0.1:8233", "http://localhost:8080"])
@pytest.mark.parametrize("path", ["/codec/decode", "/codec/k/k-handler/decode", "/codec/encode"])
def test_preflight_from_the_ui_needs_no_key(api: TestClient, origin: str, path: str) -> None:
    answer = api.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type,x-namespace,authorization"})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == origin
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-namespace", "authorization"} <= allowed


def test_other_origins_get_no_cors(api: TestClient) -> None:
    answer = api.options("/codec/decode", headers={"Origin": "http://evil.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 403 and "access-control-allow-origin" not in answer.headers
    answer = api.post("/codec/decode", json={"payloads": []},
                      headers={"Origin": "http://evil.example", "Authorization": "Bearer k-handler"})
    assert "access-control-allow-origin" not in answer.headers


def test_answers_and_refusals_carry_cors_for_the_ui(api: TestClient) -> None:
    ok = api.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI, "Authorization": "Bearer k-handler"})
    refused = api.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
    assert (ok.status_code, refused.status_code) == (200, 401)
    assert ok.headers["access-control-allow-origin"] == refused.headers["access-control-allow-origin"] == UI
