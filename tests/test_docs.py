"""Every environment variable the code reads is documented in README.md and .env.example."""

import re

from tests.helpers import ROOT

NOT_CONFIGURATION = {
    "DJANGO_SETTINGS_MODULE",
    "PATH",
    "CI",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "HOSTNAME",
}


def _variables_read() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.glob("newsletter/**/*.py"), *ROOT.glob("subscriptions/**/*.py")]:
        text = path.read_text()
        names |= set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"os\.environ(?:\.get)?[\(\[]\s*\"([A-Z][A-Z0-9_]+)\"", text))
    for path in ROOT.glob("bin/*"):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", path.read_text()))
    return names - NOT_CONFIGURATION


def test_every_variable_is_in_env_example_and_readme():
    variables = _variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_PROVIDER", "OUTBOX_DIR"} <= variables
    example = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    readme = (ROOT / "README.md").read_text()
    assert variables - example == set(), "missing from .env.example"
    assert {name for name in variables if f"`{name}`" not in readme} == set(), (
        "missing from README.md"
    )


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make run" in head and "make test" in head
