"""The layering rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKEND_LIBS = {"openai", "pymilvus", "milvus_lite", "aiosqlite", "pypdf",
                "sentence_transformers", "torch", "transformers"}
PLATFORM_LIBS = {"discord", "slack_bolt", "slack_sdk"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", modules("agent_core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_knows_no_platform_and_no_upper_layer(path: Path) -> None:
    bad = {i for i in imports(path) if top(i) in PLATFORM_LIBS | {"adapters", "bot"}}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", [p for p in modules("agent_core") if "backends" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_backends_import_backend_libraries(path: Path) -> None:
    bad = {i for i in imports(path) if top(i) in BACKEND_LIBS}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", modules("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_use_the_engine_facade_only(path: Path) -> None:
    bad = {i for i in imports(path)
           if top(i) in BACKEND_LIBS | {"bot"} or i.startswith("agent_core.backends")}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", modules("agent_core") + modules("adapters"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_bot_reads_the_environment(path: Path) -> None:
    text = path.read_text("utf-8")
    assert "os.environ[" not in text and "os.getenv" not in text and \
        "os.environ.get" not in text, f"{path} reads the environment"
