import io
import json

from ehcp_monitor import logs


def test_personal_data_never_reaches_the_log():
    stream = io.StringIO()
    logs.configure(stream=stream, json=True)
    log = logs.get_logger()
    log.info(
        "ingest.row",
        request_id="R1",
        rows=3,
        forename="Alexandra",
        surname="Example",
        name="Alexandra Example",
        email="parent@example.org",
        date_of_birth="2017-02-14",
        upn="A123456789012",
    )
    out = stream.getvalue()
    for secret in ("Alexandra", "Example", "parent@example.org", "2017-02-14", "A123456789012"):
        assert secret not in out
    line = json.loads(out)
    assert line["request_id"] == "R1" and line["rows"] == 3
    assert line["dropped_keys"] == 6


def test_json_off_a_terminal_readable_on_one():
    stream = io.StringIO()
    logs.configure(stream=stream)  # StringIO is not a TTY: JSON
    logs.get_logger().info("x", rows=1)
    assert json.loads(stream.getvalue())["event"] == "x"
    stream = io.StringIO()
    logs.configure(stream=stream, json=False)
    logs.get_logger().info("x", rows=1)
    assert "rows=1" in stream.getvalue()
