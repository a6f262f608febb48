"""A result checked only by a property a wrong result shares: a standard value class, a length, a file's
existence after a command."""

import os
import uuid
from datetime import datetime
from pathlib import Path

from myapp import cli, export, queue_job, set_tab_color, signed_at, summary


# expect: AUD150
def test_queue_job_in_background(db):
    job = queue_job(db, "vacuum")
    assert isinstance(job, uuid.UUID)


# expect: AUD150
def test_signature_date_is_kept(signer):
    assert isinstance(signed_at(signer.sign("x")), datetime)


# expect: strong
def test_job_id_is_a_uuid(db):
    assert isinstance(queue_job(db, "vacuum"), uuid.UUID)


# expect: strong
def test_picks_the_native_environment(make_env):
    env = make_env(native=True)
    assert isinstance(env, NativeEnvironment)  # noqa: F821 - a project class: which one came back is the claim


# expect: AUD151
def test_tab_color_sequence():
    assert len(set_tab_color("#1f1f1f")) == 84


# expect: AUD151
def test_summary_of_report(report):
    assert len(summary(report)) > 20


# expect: strong
def test_summary_is_truncated_to_the_limit(report):
    assert len(summary(report, limit=80)) == 80


# expect: strong
def test_each_request_gets_its_own_span(client, spans):
    for _ in range(8):
        client.get("/")
    assert len(spans.named("GET /")) == 8


# expect: strong
def test_ids_are_distinct(make_ids):
    ids = make_ids(50)
    assert len(ids) == len(set(ids))


# expect: AUD152
def test_export_command(runner, tmp_path):
    result = runner.invoke(cli, ["export", "--output", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 0
    assert os.path.exists(tmp_path / "spec.yaml")


# expect: strong
def test_export_writes_the_spec(runner, tmp_path):
    result = runner.invoke(cli, ["export", "--output", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 0
    assert (tmp_path / "spec.yaml").read_text().startswith("openapi: 3.0.0")


# expect: strong
def test_export_creates_parent_directories(tmp_path):
    code = export(tmp_path / "a" / "b" / "spec.yaml")
    assert code == 0
    assert Path(tmp_path / "a" / "b" / "spec.yaml").exists()
