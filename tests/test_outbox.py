"""The local outbox: each message becomes one .eml file that a mail client can open."""

from email import message_from_bytes, policy

from django.core.mail import EmailMultiAlternatives, get_connection


def test_each_message_is_written_as_its_own_eml_file(tmp_path):
    outbox = tmp_path / "outbox"
    connection = get_connection("newsletter.lib.outbox.OutboxBackend", outbox_dir=outbox)
    messages = []
    for n in (1, 2):
        message = EmailMultiAlternatives(
            f"Digest {n}", f"Plain text {n}", "digest@example.org", [f"r{n}@example.org"]
        )
        message.attach_alternative(f"<p>HTML {n}</p>", "text/html")
        messages.append(message)
    assert connection.send_messages(messages) == 2

    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    parsed = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert {p["Subject"] for p in parsed} == {"Digest 1", "Digest 2"}
    first = next(p for p in parsed if p["Subject"] == "Digest 1")
    assert first["To"] == "r1@example.org"
    assert first.get_body(("plain",)).get_content().strip() == "Plain text 1"
    assert "<p>HTML 1</p>" in first.get_body(("html",)).get_content()
    assert not list(outbox.glob("*.tmp"))


def test_a_message_without_recipients_is_not_written(tmp_path):
    connection = get_connection("newsletter.lib.outbox.OutboxBackend", outbox_dir=tmp_path)
    assert (
        connection.send_messages([EmailMultiAlternatives("No one", "x", "a@example.org", [])]) == 0
    )
    assert not list(tmp_path.iterdir())
