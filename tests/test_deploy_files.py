"""The deployment files say what the README promises (the engine itself is not run here)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_membot_against_a_healthy_milvus_standalone() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"etcd", "minio", "milvus", "membot"}
    for name in ("etcd", "minio", "milvus"):
        assert "healthcheck" in services[name], name
    bot = services["membot"]
    assert bot["depends_on"]["milvus"]["condition"] == "service_healthy"
    assert bot["environment"]["MEMBOT_MILVUS_URI"] == "http://milvus:19530"
    assert "membot:/data" in bot["volumes"]
    assert all(v in ("", "${" + k + ":-}") or not k.endswith(("TOKEN", "KEY", "SECRET"))
               for k, v in bot["environment"].items())  # no secret baked in


def test_dockerfile_is_non_root_with_a_data_volume_and_cached_dependencies() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER membot" in text and 'VOLUME ["/data"]' in text
    assert text.index("COPY pyproject.toml") < text.index("COPY agent_core")
    assert "HEALTHCHECK" in text
