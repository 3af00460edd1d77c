"""The deployment reference in deploy/ stays true to the code and to the README.

Docker and Kubernetes cannot run here, so every file is parsed and checked against what the product reads:
each environment variable set is one the settings read, each setting the README requires in production is
set, the workers consume every Celery queue the code routes to, and the workloads have the probes, limits
and non-root users an operator expects. The deployment's own environment then passes `check --deploy`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()
README = (ROOT / "README.md").read_text()

# Variables the deployment sets for something other than Tunebase's settings, and who reads them.
READ_BY_LIBRARIES = {
    "AWS_ACCESS_KEY_ID": "boto3: the S3 credentials (README: 'the usual AWS_* variables')",
    "AWS_SECRET_ACCESS_KEY": "boto3: the S3 credentials",
}
READ_BY_THE_IMAGE = {
    "PYTHONUNBUFFERED": "Python: log lines leave at once",
    "PYTHONDONTWRITEBYTECODE": "Python: no .pyc on a read-only root filesystem",
    "PIP_NO_CACHE_DIR": "pip, at build",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip, at build",
}
APP_PACKAGES = ("tenants", "webhooks", "billing", "projects", "training", "inference", "config")


# --- what the settings read -------------------------------------------------------------------------
def settings_variables() -> set[str]:
    names = set(re.findall(r'env_[a-z]+\(\s*"([A-Z0-9_]+)"', SETTINGS_SOURCE))
    names |= set(re.findall(r'os\.environ(?:\.get)?[(\[]\s*"([A-Z0-9_]+)"', SETTINGS_SOURCE))
    return names


def settings_prefixes() -> tuple[str, ...]:
    """Families read by scanning os.environ (STRIPE_PRICE_<PLAN>, STRIPE_PRICE_<PLAN>_PREDICTIONS, ...)."""
    return tuple(re.findall(r'\.startswith\("([A-Z0-9_]+_)"\)', SETTINGS_SOURCE))


def read_by_settings(name: str) -> bool:
    return name in settings_variables() or name.startswith(settings_prefixes())


def production_section() -> str:
    return README.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]


def required_in_production() -> set[str]:
    """The names in the first bullet of the README's Production section."""
    first_bullet = production_section().split("\n- ", 2)[1]
    return {name for name, _ in re.findall(r"`([A-Z][A-Z0-9_]+)(=[^`]*)?`", first_bullet)}


def production_values() -> dict[str, str]:
    """`NAME=value` pairs the README's Production section prescribes (DEBUG=0, INFERENCE_THREADS=1, ...)."""
    return dict(re.findall(r"`([A-Z][A-Z0-9_]+)=([^`\s]+)`", production_section()))


# --- the deployment's files -------------------------------------------------------------------------
def env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, sep, value = stripped.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"{path.name}: bad line {line!r}"
            values[name] = value
    return values


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_interpolated() -> set[str]:
    """Variables compose.yaml itself reads from deploy/.env (PostgreSQL's and MinIO's own settings)."""
    return set(re.findall(r"\$\{([A-Z0-9_]+)", (DEPLOY / "compose.yaml").read_text()))


def app_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if str(service.get("image", "")).startswith("tunebase")
    }


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """What a service's process sees: deploy/.env (made from env.example), then its `environment`."""
    env: dict[str, str] = {}
    files = service.get("env_file", [])
    for file in [files] if isinstance(files, str) else files:
        assert file == ".env", "app services read deploy/.env, made from deploy/env.example"
        env.update(env_file(DEPLOY / "env.example"))
    declared = service.get("environment", {})
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) for item in declared)
    env.update({name: str(value) for name, value in declared.items()})
    return env


def k8s_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [(doc | {"_file": path.name}) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def k8s_of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    return k8s_of_kind("Deployment") | k8s_of_kind("Job")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def secret_name() -> str:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    (generator,) = kustomization["secretGenerator"]
    return str(generator["name"])


def k8s_environment(container: dict[str, Any]) -> dict[str, str]:
    """What a container sees: the ConfigMaps and the Secret it names in envFrom, then its own env."""
    config_maps = k8s_of_kind("ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
        else:
            assert source["secretRef"]["name"] == secret_name()
            env.update(env_file(K8S / "secrets.env.example"))
    env.update({item["name"]: str(item.get("value", "")) for item in container.get("env", [])})
    return env


def dockerfile_lines() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", (DEPLOY / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in dockerfile_lines():
        if line.startswith("ENV "):
            env.update(item.split("=", 1) for item in shlex.split(line.removeprefix("ENV ")))
    return env


def celery_commands() -> dict[str, list[str]]:
    """Every Celery worker command in compose and in k8s, by where it is."""
    found = {f"compose:{name}": service.get("command") for name, service in app_services().items()}
    for name, workload in workloads().items():
        for container in pod_spec(workload)["containers"]:
            found[f"k8s:{name}/{container['name']}"] = container.get("command")
    return {
        where: [str(part) for part in command]
        for where, command in found.items()
        if isinstance(command, list) and command[:4] == ["celery", "-A", "config", "worker"]
    }


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def readme_granian_command() -> list[str]:
    match = re.search(r"`(granian [^`]+)`", production_section())
    assert match, "the README's Production section gives the granian command"
    return shlex.split(match.group(1))


# --- the checks ---------------------------------------------------------------------------------------
def test_the_scan_of_the_settings_finds_what_they_read_and_refuses_a_misspelling():
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_BUCKET", "TUNEBASE_ENV_FILE"} <= (
        settings_variables()
    )
    assert read_by_settings("STRIPE_PRICE_PRO_TRAINING")
    assert not read_by_settings("ALLOWED_HOST")
    assert not read_by_settings("S3_BUCKET_NAME")


def test_every_file_in_deploy_parses():
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix == ".yaml":
            assert list(yaml.safe_load_all(path.read_text())), path
        elif path.name.endswith(".example"):
            assert env_file(path), path
        elif path.suffix == ".sh":
            subprocess.run(["sh", "-n", str(path)], check=True)
    assert (DEPLOY / "README.md").is_file()
    assert (DEPLOY / "Dockerfile").is_file()


def test_every_variable_the_deployment_sets_is_one_the_settings_read():
    set_by: dict[str, set[str]] = {}
    compose_only = compose_interpolated()
    for name in env_file(DEPLOY / "env.example"):
        if name not in compose_only:
            set_by.setdefault("deploy/env.example", set()).add(name)
    for service_name, service in app_services().items():
        set_by[f"compose {service_name}"] = set(compose_environment(service)) - compose_only
    for name in set(dockerfile_env()) - set(READ_BY_THE_IMAGE):
        set_by.setdefault("deploy/Dockerfile", set()).add(name)
    for workload_name, workload in workloads().items():
        for container in containers(workload):
            set_by[f"k8s {workload_name}/{container['name']}"] = set(k8s_environment(container))

    unread = {
        where: sorted(name for name in names if not read_by_settings(name) and name not in READ_BY_LIBRARIES)
        for where, names in set_by.items()
    }
    assert {where: names for where, names in unread.items() if names} == {}


def test_what_compose_reads_for_itself_goes_only_to_the_services_that_use_it():
    compose_only = {
        name for name in compose_interpolated() if not read_by_settings(name) and name not in READ_BY_LIBRARIES
    }
    assert compose_only == {"POSTGRES_PASSWORD", "TUNEBASE_DB_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
    assert compose_only <= set(env_file(DEPLOY / "env.example"))
    for service in app_services().values():
        assert not compose_only & set(service.get("environment", {}))


def test_each_setting_the_readme_requires_in_production_is_set_in_compose_and_in_k8s():
    required = required_in_production()
    prescribed = production_values()
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "S3_BUCKET"} <= required
    assert prescribed["DEBUG"] == "0"

    environments = {f"compose {name}": compose_environment(service) for name, service in app_services().items()}
    for name, workload in workloads().items():
        for container in containers(workload):
            environments[f"k8s {name}/{container['name']}"] = k8s_environment(container)
    for where, env in environments.items():
        assert sorted(required - {name for name, value in env.items() if value}) == [], where
        assert {name: env.get(name) for name in prescribed} == prescribed, where


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_the_deployments_environment_passes_check_deploy(source, tmp_path):
    """The settings accept the files' values, and Django's deployment checks find nothing to warn about."""
    if source == "compose":
        env = compose_environment(app_services()["web"])
    else:
        env = k8s_environment(pod_spec(workloads()["tunebase-web"])["containers"][0])
    env |= dockerfile_env() | {
        "PATH": os.environ["PATH"],
        "STATIC_ROOT": str(tmp_path / "static"),
        "TUNEBASE_VAR_DIR": str(tmp_path / "var"),
        "TRAINING_WORK_DIR": str(tmp_path / "training"),
    }
    if "PROMETHEUS_MULTIPROC_DIR" in env:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def code_queues() -> set[str]:
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    queues |= {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    queues |= {
        entry["options"]["queue"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if "queue" in entry.get("options", {})
    }
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                queues |= set(re.findall(r'\bqueue="([a-z_]+)"', path.read_text()))
    return queues


def test_the_workers_consume_every_queue_the_code_routes_to_and_no_other():
    routed = code_queues()
    assert {"default", "training", "webhooks"} <= routed
    for platform in ("compose", "k8s"):
        commands = {where: command for where, command in celery_commands().items() if where.startswith(platform)}
        consumed = {queue for command in commands.values() for queue in (option(command, "-Q") or "").split(",")}
        assert consumed == routed, platform
        for where, command in commands.items():
            if "training" in (option(command, "-Q") or "").split(","):
                assert option(command, "-Q") == "training", where
                assert option(command, "--concurrency") == "1", where


def test_beat_runs_once_everywhere():
    beats = {
        name
        for name, service in app_services().items()
        if service.get("command", [])[:4] == ["celery", "-A", "config", "beat"]
    }
    assert len(beats) == 1
    assert compose()["services"][beats.pop()].get("deploy", {}).get("replicas", 1) == 1
    beat = workloads()["tunebase-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_web_serves_with_the_readme_granian_command_everywhere():
    expected = readme_granian_command()
    workers_at = expected.index("--workers") + 1
    commands = {
        "Dockerfile": json_cmd(next(line for line in dockerfile_lines() if line.startswith("CMD "))),
        "compose": [str(part) for part in compose()["services"]["web"]["command"]],
        "k8s": [str(part) for part in pod_spec(workloads()["tunebase-web"])["containers"][0]["command"]],
    }
    for where, command in commands.items():
        assert command[:workers_at] + command[workers_at + 1 :] == expected[:workers_at] + expected[workers_at + 1 :], (
            where
        )
        assert int(command[workers_at]) >= 1, where


def json_cmd(line: str) -> list[str]:
    return list(yaml.safe_load(line.removeprefix("CMD ")))


def test_the_dockerfile_builds_a_non_root_image_with_static_files_and_a_health_check():
    lines = dockerfile_lines()
    assert "ARG BASE_IMAGE=python:3.11-slim" in lines
    users = [line.split()[1].split(":")[0] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    collectstatic = [line for line in lines if line.startswith("RUN ") and "collectstatic --noinput" in line]
    assert collectstatic and "DEBUG=0" in collectstatic[0]
    assert lines.index(collectstatic[0]) > max(i for i, line in enumerate(lines) if line.startswith("USER "))
    installs = [line for line in lines if "pip install" in line and "requirements" in line]
    assert installs and all("--require-hashes" in line for line in installs)
    assert any(line.startswith("HEALTHCHECK ") and "/healthz" in line for line in lines)


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "var", ".env"} <= ignored


def test_every_k8s_workload_runs_as_non_root_with_resources_and_its_config():
    for name, workload in workloads().items():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        volumes = {volume["name"] for volume in spec.get("volumes", [])}
        for container in containers(workload):
            where = f"{name}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]} == {
                "tunebase-config",
                secret_name(),
            }, where
            assert {mount["name"] for mount in container.get("volumeMounts", [])} <= volumes, where


def test_web_has_probes_a_service_and_an_autoscaler():
    web = workloads()["tunebase-web"]
    container = pod_spec(web)["containers"][0]
    allowed_hosts = k8s_environment(container)["ALLOWED_HOSTS"].split(",")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path
        # Django answers 400 to a Host outside ALLOWED_HOSTS, so a probe without one would always fail.
        assert {header["value"] for header in get["httpHeaders"] if header["name"] == "Host"} <= set(allowed_hosts)
        assert any(header["name"] == "Host" for header in get["httpHeaders"])
    (hpa,) = k8s_of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tunebase-web"}
    assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]
    assert hpa["spec"]["minReplicas"] >= 2
    (service,) = k8s_of_kind("Service").values()
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]


def test_training_workers_take_one_gpu_on_gpu_nodes_and_share_checkpoints():
    training = workloads()["tunebase-worker-training"]
    spec = pod_spec(training)
    (container,) = spec["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"]
    assert any(toleration["key"] == "nvidia.com/gpu" for toleration in spec["tolerations"])
    mounted = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert mounted["training-work"] == k8s_environment(container)["TRAINING_WORK_DIR"]
    (claim,) = k8s_of_kind("PersistentVolumeClaim").values()
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert {"claimName": claim["metadata"]["name"]} in [v.get("persistentVolumeClaim") for v in spec["volumes"]]
    compose_training = compose()["services"]["worker-training"]
    assert any(
        volume.endswith(":" + compose_environment(compose_training)["TRAINING_WORK_DIR"])
        for volume in compose_training["volumes"]
    )


def test_migrations_run_once_before_the_rest():
    (job,) = k8s_of_kind("Job").values()
    services = compose()["services"]
    # The deployment checks with the database (tenants.W001: a role that bypasses RLS) stop the migration.
    refuse_bad_role = "python manage.py check --deploy --database default --fail-level WARNING && "
    for command in (pod_spec(job)["containers"][0]["command"], services["migrate"]["command"]):
        assert command[-1] == refuse_bad_role + "python manage.py migrate --noinput"
    for name, deployment in k8s_of_kind("Deployment").items():
        (init,) = pod_spec(deployment)["initContainers"]
        assert "migrate --check" in " ".join(init["command"]), name
    for name, service in app_services().items():
        if name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name


def test_kustomization_lists_every_manifest_and_image():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    images = {container["image"] for workload in workloads().values() for container in containers(workload)}
    assert images <= {image["name"] for image in kustomization["images"]}
    assert set(env_file(K8S / "secrets.env.example")) >= {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}


def test_the_database_role_cannot_bypass_row_level_security():
    sql = (DEPLOY / "postgres" / "tunebase-role.sql").read_text()
    assert "NOSUPERUSER NOBYPASSRLS" in sql
    assert "CREATE DATABASE %I OWNER %I" in sql
    script = (DEPLOY / "postgres" / "10-tunebase-role.sh").read_text()
    role = re.search(r"-v role_name=(\w+)", script).group(1)
    database = re.search(r"-v db_name=(\w+)", script).group(1)
    env = env_file(DEPLOY / "env.example")
    url = urlsplit(env["DATABASE_URL"])
    assert (url.username, url.path.lstrip("/"), url.password) == (role, database, env["TUNEBASE_DB_PASSWORD"])
    db_mounts = compose()["services"]["db"]["volumes"]
    assert any(mount.startswith("./postgres/10-tunebase-role.sh:/docker-entrypoint-initdb.d/") for mount in db_mounts)
