"""What masthead says of a site.toml it cannot use, the way records are named: the file
from the working folder, the line of the key, and what was meant.

tomllib keeps no positions, so the line is found again in the text; these tests write
the configurations a curator writes (tables, arrays of tables, dotted and quoted keys,
inline tables, multi-line strings) and run the installed command in the site folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.config import load_config
from masthead.diagnostics import ConfigError
from tests.conftest import Scratch, masthead

HEAD = 'title = "Harbour"\nbase_url = "https://example.org/"\n'


def _site(scratch: Scratch, config: str) -> Path:
    scratch.add("2026-11-18-good.md", title="Good")
    (scratch.root / "site.toml").write_text(HEAD + config, encoding="utf-8")
    return scratch.root


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (
            '\n[newsletter]\nenabled = true\nstories = "ten"\n',
            "error: site.toml:6: newsletter.stories must be an integer, not a string",
        ),
        ("page_size = 10\npage_size = 20\n", "error: site.toml:4: not valid TOML: Cannot"),
        (
            '[[import.feeds]]\nurl = "https://a.example/feed"\n[[import.feeds]]\nprovider = "B"\n',
            "error: site.toml:5: import.feeds[1] needs a url",
        ),
        ('timezone = "Mars/Olympus"\n', "error: site.toml:3: timezone 'Mars/Olympus' is not"),
    ],
)
def test_a_configuration_error_names_the_file_and_line(
    scratch: Scratch, config: str, said: str
) -> None:
    done = masthead("build", cwd=_site(scratch, config))
    assert done.returncode == 1
    assert done.stderr.startswith(said), done.stderr
    assert not scratch.output.exists()


def test_an_unknown_key_is_named_with_its_line_and_what_was_meant(scratch: Scratch) -> None:
    config = (
        '\n[newsletter]\nstorie = 5\n\n[[import.feeds]]\nurl = "https://a.example/"\ntpoics = []\n'
    )
    root = _site(scratch, config)
    done = masthead("build", cwd=root)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert (
        "WARNING: site.toml:5: unknown key 'newsletter.storie' ignored (did you mean 'stories'?)"
        in lines
    )
    assert (
        "WARNING: site.toml:9: unknown key 'import.feeds[0].tpoics' ignored (did you mean 'topics'?)"
        in lines
    )
    # From elsewhere, the file is named from there.
    elsewhere = masthead("build", "--site", root.name, cwd=root.parent)
    assert f"WARNING: {root.name}/site.toml:5: unknown key 'newsletter.storie'" in elsewhere.stderr


def test_a_value_given_on_the_command_line_is_blamed_there(scratch: Scratch) -> None:
    done = masthead("build", "--base-url", "example.org/news", cwd=_site(scratch, ""))
    assert done.returncode == 1
    assert done.stderr.startswith("error: --base-url: base_url must be an absolute http(s) URL")


def test_a_file_that_is_not_utf8_names_its_line(scratch: Scratch) -> None:
    root = _site(scratch, "")
    with (root / "site.toml").open("ab") as f:
        f.write(b'description = "caf\xe9"\n')
    done = masthead("check", cwd=root)
    assert done.returncode == 1
    assert done.stderr.startswith("error: site.toml:3: not valid UTF-8"), done.stderr


@pytest.mark.parametrize(
    ("config", "line"),
    [
        ('"page_size" = "x"\n', 3),  # a quoted key
        ('newsletter.stories = "x"\n', 3),  # a dotted key, outside its table
        ('description = """\npage_size = 3\n"""\n\n[newsletter]\nstories = "x"\n', 8),
        ('newsletter = { enabled = true, stories = "x" }\n', 3),  # an inline table's line
        ('[ newsletter ]  # the email\n  stories   =   "x"\n', 4),
    ],
)
def test_the_line_is_found_however_the_key_is_written(
    scratch: Scratch, config: str, line: int
) -> None:
    root = _site(scratch, config)
    with pytest.raises(ConfigError, match=rf"site\.toml:{line}: \S+ must be an integer"):
        load_config(root)
